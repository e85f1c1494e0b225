namespace DeepSlide.Learning;

/// <summary>
/// DeepSlide's training augmentation on square RGB patches: a random flip and quarter turn (the 8 symmetries of
/// the square) and colour jitter of brightness, contrast and saturation.
/// </summary>
public static class Augmentation
{
    /// <summary>Applies symmetry <paramref name="k"/> (0..7): k &amp; 3 quarter turns, then a horizontal flip when k &gt;= 4.</summary>
    public static void Dihedral(ReadOnlySpan<byte> source, Span<byte> target, int size, int k)
    {
        if ((uint)k > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(k), "A symmetry of the square is 0..7.");
        }

        int turns = k & 3;
        bool flip = k >= 4;
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                int sx = flip ? size - 1 - x : x, sy = y;
                // Undo the turns: target (x, y) comes from the source pixel rotated back.
                for (int t = 0; t < turns; t++)
                {
                    (sx, sy) = (sy, size - 1 - sx);
                }

                int s = (sy * size + sx) * 3, d = (y * size + x) * 3;
                target[d] = source[s];
                target[d + 1] = source[s + 1];
                target[d + 2] = source[s + 2];
            }
        }
    }

    /// <summary>Scales brightness and contrast and blends towards grey for saturation, each by a factor in [1 - j, 1 + j].</summary>
    public static void ColorJitter(Span<byte> rgb, Random random, double brightness = 0.3, double contrast = 0.3, double saturation = 0.3)
    {
        double b = 1 + (random.NextDouble() * 2 - 1) * brightness;
        double c = 1 + (random.NextDouble() * 2 - 1) * contrast;
        double s = 1 + (random.NextDouble() * 2 - 1) * saturation;
        double mean = 0;
        for (int i = 0; i < rgb.Length; i++)
        {
            mean += rgb[i];
        }

        mean = mean / rgb.Length * b;
        for (int i = 0; i + 2 < rgb.Length; i += 3)
        {
            double r = rgb[i] * b, g = rgb[i + 1] * b, bl = rgb[i + 2] * b;
            r = (r - mean) * c + mean;
            g = (g - mean) * c + mean;
            bl = (bl - mean) * c + mean;
            double grey = 0.299 * r + 0.587 * g + 0.114 * bl;
            rgb[i] = Clamp(grey + (r - grey) * s);
            rgb[i + 1] = Clamp(grey + (g - grey) * s);
            rgb[i + 2] = Clamp(grey + (bl - grey) * s);
        }
    }

    private static byte Clamp(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);
}
