#!/usr/bin/python3
"""Reference Deep Zoom tiles from OpenSlide's own DeepZoomGenerator (Debian's python3-openslide): a check, not a dependency.

usage: deepzoom_reference.py SLIDE OUT LEVEL/COL_ROW...
Writes OUT/slide.dzi, OUT/{level}_{col}_{row}.png (the tile as RGB PNG) and OUT/tiles.json (read_region arguments and
tile sizes), with the generator's defaults: tile_size 254, overlap 1, limit_bounds False.
"""
import json
import os
import sys

import openslide
from openslide.deepzoom import DeepZoomGenerator

slide_path, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
generator = DeepZoomGenerator(openslide.OpenSlide(slide_path))
with open(os.path.join(out, "slide.dzi"), "w") as f:
    f.write(generator.get_dzi("jpeg"))
tiles = {"levels": generator.level_count, "levelTiles": generator.level_tiles, "levelDimensions": generator.level_dimensions, "tiles": {}}
for address in sys.argv[3:]:
    level, rest = address.split("/")
    col, row = rest.split("_")
    level, col, row = int(level), int(col), int(row)
    (location, slide_level, size), = [generator.get_tile_coordinates(level, (col, row))]
    tile = generator.get_tile(level, (col, row))
    tile.save(os.path.join(out, f"{level}_{col}_{row}.png"))
    tiles["tiles"][address] = {"location": location, "slideLevel": slide_level, "size": size, "tile": tile.size}
with open(os.path.join(out, "tiles.json"), "w") as f:
    json.dump(tiles, f)
