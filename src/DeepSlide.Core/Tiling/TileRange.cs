namespace DeepSlide.Tiling;

/// <summary>A contiguous run of a plan's tiles: the unit of work fanned out to inference workers.</summary>
public readonly record struct TileRange(int Index, int Start, int Count)
{
    public int End => Start + Count;

    /// <summary>
    /// Cuts <paramref name="tiles"/> tiles into contiguous ranges of <paramref name="tilesPerRange"/> (the last one
    /// shorter), made bigger when that would give more than <paramref name="maxRanges"/>.
    /// </summary>
    public static IReadOnlyList<TileRange> Split(int tiles, int tilesPerRange, int maxRanges = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tiles);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tilesPerRange);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRanges);
        int size = Math.Max(tilesPerRange, (int)(((long)tiles + maxRanges - 1) / maxRanges));
        var ranges = new List<TileRange>((tiles + size - 1) / size);
        for (int start = 0; start < tiles; start += size)
        {
            ranges.Add(new TileRange(ranges.Count, start, Math.Min(size, tiles - start)));
        }

        return ranges;
    }
}
