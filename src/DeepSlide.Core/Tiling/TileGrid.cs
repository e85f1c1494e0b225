namespace DeepSlide.Tiling;

public static class TileGrid
{
    /// <summary>
    /// The window offsets along one axis of length <paramref name="extent"/>: every <paramref name="stride"/>
    /// pixels from 0, plus one more window when needed so that the last pixel is covered (that window
    /// overhangs the edge and is padded with white). Empty when the extent is shorter than one window.
    /// </summary>
    public static IReadOnlyList<long> Offsets(long extent, int window, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        if (extent < window)
        {
            return [];
        }

        var offsets = new List<long>();
        long offset = 0;
        for (; offset + window <= extent; offset += stride)
        {
            offsets.Add(offset);
        }

        if (offsets[^1] + window < extent)
        {
            offsets.Add(offset);
        }

        return offsets;
    }

    /// <summary>DeepSlide's overlap factor: a factor of 2 steps half a window.</summary>
    public static int StrideFromOverlap(int window, double overlapFactor)
    {
        if (!(overlapFactor >= 1))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"an overlap factor of {overlapFactor} is not allowed; it must be at least 1.");
        }

        return Math.Max(1, (int)(window / overlapFactor));
    }
}
