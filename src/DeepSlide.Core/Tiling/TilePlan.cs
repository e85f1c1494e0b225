using System.Text.Json.Serialization;
using DeepSlide.Tissue;

namespace DeepSlide.Tiling;

/// <summary>
/// The tiles of one slide worth reading, in blocks of <see cref="TilePlanner.BlockSide"/> x
/// <see cref="TilePlanner.BlockSide"/> tiles (row-major within each block and from block to block), with the
/// geometry needed to read them.
/// Working pixels are level-0 pixels divided by <see cref="Downsample"/>.
/// </summary>
public sealed record TilePlan
{
    public required string SlidePath { get; init; }

    public required long SlideWidth { get; init; }

    public required long SlideHeight { get; init; }

    /// <summary>The pyramid level the tiles are read from.</summary>
    public required int Level { get; init; }

    public required double LevelDownsample { get; init; }

    /// <summary>The working resolution relative to level 0 (equal to the level's downsample unless rescaled).</summary>
    public required double Downsample { get; init; }

    public required int Window { get; init; }

    public required int Stride { get; init; }

    public required int Columns { get; init; }

    public required int Rows { get; init; }

    public required TissueMethod TissueMethod { get; init; }

    public required double MinTissueFraction { get; init; }

    public required IReadOnlyList<Tile> Tiles { get; init; }

    /// <summary>The mask the plan was filtered with; not serialized.</summary>
    [JsonIgnore]
    public TissueMask? Mask { get; init; }

    public string SlideName => System.IO.Path.GetFileNameWithoutExtension(SlidePath);

    public int GridTileCount => Columns * Rows;

    public bool IsEmpty => Tiles.Count == 0;

    /// <summary>The side of a tile in level-0 pixels.</summary>
    public double TileSizeAtLevel0 => Window * Downsample;

    /// <summary>The step between neighbouring tiles in level-0 pixels: a grid cell's side.</summary>
    public double StrideAtLevel0 => Stride * Downsample;

    /// <summary>Cuts the plan into contiguous ranges of at most <paramref name="tilesPerRange"/> tiles.</summary>
    public IReadOnlyList<TileRange> Split(int tilesPerRange) => TileRange.Split(Tiles.Count, tilesPerRange);

    public IReadOnlyList<Tile> TilesOf(TileRange range)
    {
        if (range.Start < 0 || range.End > Tiles.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(range), $"Range {range.Start}..{range.End} is outside the plan's {Tiles.Count} tiles.");
        }

        return Tiles is List<Tile> list ? list.GetRange(range.Start, range.Count) : Tiles.Skip(range.Start).Take(range.Count).ToList();
    }
}
