namespace DeepSlide.Tissue;

/// <summary>
/// DeepSlide's white-space filter. A colour is "purple" when R &gt; G - 10, B &gt; G - 10 and (R + B) / 2 &gt; G + 20.
/// A 224 x 224 patch is cut into 16 x 16 cells of 14 x 14 pixels; it is tissue when more than 100 of the 256 cell means are purple.
/// </summary>
public static class PurpleRule
{
    public const int CellSize = 14;
    public const int CellsPerSide = 16;
    public const int CellCount = CellsPerSide * CellsPerSide;
    public const int Threshold = 100;

    /// <summary>The minimum tissue fraction the rule implies: strictly more than 100 of 256 cells.</summary>
    public const double MinTissueFraction = (double)Threshold / CellCount;

    public static bool IsPurple(double r, double g, double b) => r > g - 10 && b > g - 10 && (r + b) / 2 > g + 20;

    /// <summary>Counts the purple cells of a square RGB patch whose side is <see cref="CellsPerSide"/> * cell size.</summary>
    public static int CountPurpleCells(ReadOnlySpan<byte> rgb, int size)
    {
        if (size % CellsPerSide != 0)
        {
            throw new ArgumentException($"A patch side of {size} does not cut into {CellsPerSide} equal cells.", nameof(size));
        }

        if (rgb.Length < size * size * 3)
        {
            throw new ArgumentException("Patch buffer too small.", nameof(rgb));
        }

        int cell = size / CellsPerSide;
        int count = 0;
        for (int cy = 0; cy < CellsPerSide; cy++)
        {
            for (int cx = 0; cx < CellsPerSide; cx++)
            {
                long r = 0, g = 0, b = 0;
                for (int y = cy * cell; y < (cy + 1) * cell; y++)
                {
                    ReadOnlySpan<byte> row = rgb.Slice((y * size + cx * cell) * 3, cell * 3);
                    for (int k = 0; k < row.Length; k += 3)
                    {
                        r += row[k];
                        g += row[k + 1];
                        b += row[k + 2];
                    }
                }

                double n = cell * cell;
                if (IsPurple(r / n, g / n, b / n))
                {
                    count++;
                }
            }
        }

        return count;
    }

    public static bool IsTissue(ReadOnlySpan<byte> rgb, int size) => CountPurpleCells(rgb, size) > Threshold;
}
