using System.Globalization;
using DeepSlide.Imaging;
using DeepSlide.Slides;

namespace DeepSlide.Tiling;

/// <summary>What to read from the slide for one Deep Zoom tile, and the size the tile is scaled to.</summary>
/// <param name="X">Level-0 x of the region's top-left corner.</param>
/// <param name="Y">Level-0 y of the region's top-left corner.</param>
/// <param name="SlideLevel">The slide level read.</param>
/// <param name="ReadWidth">The region's width in that level's pixels.</param>
/// <param name="ReadHeight">The region's height in that level's pixels.</param>
/// <param name="TileWidth">The served tile's width.</param>
/// <param name="TileHeight">The served tile's height.</param>
public sealed record DeepZoomRead(long X, long Y, int SlideLevel, int ReadWidth, int ReadHeight, int TileWidth, int TileHeight);

/// <summary>
/// The Deep Zoom (DZI) pyramid of a slide, laid out exactly as OpenSlide's <c>DeepZoomGenerator</c> lays it out
/// (without <c>limit_bounds</c>): levels halve the level-0 size, rounding up, down to 1 x 1; tiles are
/// <see cref="TileSize"/> square plus <see cref="Overlap"/> pixels on each inner edge; each Deep Zoom level reads the
/// finest slide level whose downsample does not exceed its own, and scales the region down to the tile.
/// </summary>
public sealed class DeepZoomGrid
{
    private readonly IReadOnlyList<SlideLevel> _slideLevels;
    private readonly (long Width, long Height)[] _dimensions;
    private readonly int[] _slideLevelOf;

    public DeepZoomGrid(IReadOnlyList<SlideLevel> slideLevels, int tileSize = 254, int overlap = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slideLevels.Count, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tileSize);
        ArgumentOutOfRangeException.ThrowIfNegative(overlap);
        _slideLevels = slideLevels;
        TileSize = tileSize;
        Overlap = overlap;

        var dimensions = new List<(long, long)>();
        (long w, long h) = (slideLevels[0].Width, slideLevels[0].Height);
        dimensions.Add((w, h));
        while (w > 1 || h > 1)
        {
            (w, h) = (Math.Max(1, (w + 1) / 2), Math.Max(1, (h + 1) / 2));
            dimensions.Add((w, h));
        }

        dimensions.Reverse();
        _dimensions = [.. dimensions];
        _slideLevelOf = new int[_dimensions.Length];
        for (int level = 0; level < _dimensions.Length; level++)
        {
            _slideLevelOf[level] = BestSlideLevel(Downsample(level));
        }
    }

    public int TileSize { get; }

    public int Overlap { get; }

    public int LevelCount => _dimensions.Length;

    public long Width => _slideLevels[0].Width;

    public long Height => _slideLevels[0].Height;

    /// <summary>The Deep Zoom level's size in pixels.</summary>
    public (long Width, long Height) LevelSize(int level) => _dimensions[CheckLevel(level)];

    /// <summary>How many tiles across and down the level has.</summary>
    public (int Columns, int Rows) TileCount(int level)
    {
        (long w, long h) = LevelSize(level);
        return ((int)((w + TileSize - 1) / TileSize), (int)((h + TileSize - 1) / TileSize));
    }

    /// <summary>The level-0 pixels one pixel of the Deep Zoom level covers (a power of two).</summary>
    public double Downsample(int level) => Math.Pow(2, LevelCount - CheckLevel(level) - 1);

    /// <summary>True when the level and address name a tile of this pyramid.</summary>
    public bool Contains(int level, int column, int row)
    {
        if (level < 0 || level >= LevelCount)
        {
            return false;
        }

        (int columns, int rows) = TileCount(level);
        return column >= 0 && row >= 0 && column < columns && row < rows;
    }

    /// <summary>The slide region one tile shows, and the tile's served size.</summary>
    public DeepZoomRead Read(int level, int column, int row)
    {
        if (!Contains(level, column, row))
        {
            throw new ArgumentOutOfRangeException(nameof(level), $"no Deep Zoom tile {level}/{column}_{row}.");
        }

        (int columns, int rows) = TileCount(level);
        (long zw, long zh) = LevelSize(level);
        int slideLevel = _slideLevelOf[level];
        SlideLevel slide = _slideLevels[slideLevel];
        double lzDownsample = Downsample(level) / slide.Downsample;

        int overlapLeft = column != 0 ? Overlap : 0;
        int overlapTop = row != 0 ? Overlap : 0;
        int overlapRight = column != columns - 1 ? Overlap : 0;
        int overlapBottom = row != rows - 1 ? Overlap : 0;
        int tileWidth = (int)Math.Min(TileSize, zw - ((long)TileSize * column)) + overlapLeft + overlapRight;
        int tileHeight = (int)Math.Min(TileSize, zh - ((long)TileSize * row)) + overlapTop + overlapBottom;

        // The same arithmetic as DeepZoomGenerator._get_tile_info: location rounded down, size rounded up.
        double lx = lzDownsample * (((long)TileSize * column) - overlapLeft);
        double ly = lzDownsample * (((long)TileSize * row) - overlapTop);
        long x0 = (long)(slide.Downsample * lx);
        long y0 = (long)(slide.Downsample * ly);
        int readWidth = (int)Math.Min(Math.Ceiling(lzDownsample * tileWidth), slide.Width - Math.Ceiling(lx));
        int readHeight = (int)Math.Min(Math.Ceiling(lzDownsample * tileHeight), slide.Height - Math.Ceiling(ly));
        return new DeepZoomRead(x0, y0, slideLevel, readWidth, readHeight, tileWidth, tileHeight);
    }

    /// <summary>The tile's pixels: the region read from the slide, scaled down as Pillow's thumbnail scales it.</summary>
    public RgbImage ReadTile(ISlideReader slide, int level, int column, int row)
    {
        DeepZoomRead read = Read(level, column, row);
        var region = new RgbImage(read.ReadWidth, read.ReadHeight);
        slide.ReadRegion(read.SlideLevel, read.X, read.Y, read.ReadWidth, read.ReadHeight, region.Pixels);
        return LanczosScaler.Thumbnail(region, read.TileWidth, read.TileHeight);
    }

    /// <summary>The DZI descriptor.</summary>
    public string Descriptor(string format = "jpeg") => string.Create(
        CultureInfo.InvariantCulture,
        $"""<?xml version="1.0" encoding="UTF-8"?><Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="{format}" Overlap="{Overlap}" TileSize="{TileSize}"><Size Height="{Height}" Width="{Width}"/></Image>""");

    // OpenSlide's openslide_get_best_level_for_downsample: the last level whose downsample is not above the target.
    private int BestSlideLevel(double downsample)
    {
        if (downsample < _slideLevels[0].Downsample)
        {
            return 0;
        }

        for (int i = 1; i < _slideLevels.Count; i++)
        {
            if (downsample < _slideLevels[i].Downsample)
            {
                return i - 1;
            }
        }

        return _slideLevels.Count - 1;
    }

    private int CheckLevel(int level) => level >= 0 && level < LevelCount
        ? level
        : throw new ArgumentOutOfRangeException(nameof(level), $"Deep Zoom level {level} is not between 0 and {LevelCount - 1}.");
}
