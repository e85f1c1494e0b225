namespace DeepSlide.Synthesis;

/// <summary>
/// A seamless (periodic) RGB texture of one tissue class, with box-filtered copies at downsamples 2, 4, 8, ...
/// so that each pyramid level of a synthetic slide is the true average of level 0's texture.
/// </summary>
public sealed class TissueTexture
{
    public const int Period = 512;
    private readonly byte[][] _mips;

    /// <param name="stain">A shift of every colour, as a slide's staining batch gives.</param>
    /// <param name="density">A factor on the style's nucleus density.</param>
    public TissueTexture(TissueClassStyle style, int seed, (int R, int G, int B) stain = default, double density = 1)
    {
        var rgb = new byte[Period * Period * 3];
        var random = new Random(seed);
        style = style with
        {
            Stroma = Shift(style.Stroma, stain),
            Nucleus = Shift(style.Nucleus, stain),
            Lumen = Shift(style.Lumen, (stain.R / 2, stain.G / 2, stain.B / 2)),
            NucleiPer10kPixels = style.NucleiPer10kPixels * density,
        };
        Paint(rgb, style, random);
        var mips = new List<byte[]> { rgb };
        for (int size = Period / 2; size >= 4; size /= 2)
        {
            mips.Add(Halve(mips[^1], size * 2));
        }

        _mips = [.. mips];
    }

    /// <summary>The texture at the largest power-of-two downsample not above <paramref name="downsample"/>, and that downsample.</summary>
    public (byte[] Pixels, int Size, int Downsample) Mip(double downsample)
    {
        int k = 0;
        while (k + 1 < _mips.Length && (1 << (k + 1)) <= downsample + 1e-9)
        {
            k++;
        }

        return (_mips[k], Period >> k, 1 << k);
    }

    private static byte[] Halve(byte[] src, int size)
    {
        int half = size / 2;
        var dst = new byte[half * half * 3];
        for (int y = 0; y < half; y++)
        {
            for (int x = 0; x < half; x++)
            {
                for (int c = 0; c < 3; c++)
                {
                    int a = src[((2 * y) * size + 2 * x) * 3 + c] + src[((2 * y) * size + 2 * x + 1) * 3 + c]
                        + src[((2 * y + 1) * size + 2 * x) * 3 + c] + src[((2 * y + 1) * size + 2 * x + 1) * 3 + c];
                    dst[(y * half + x) * 3 + c] = (byte)((a + 2) / 4);
                }
            }
        }

        return dst;
    }

    private static void Paint(byte[] rgb, TissueClassStyle style, Random random)
    {
        const int N = Period;
        float[] noise = ValueNoise(random, cells: 16);
        for (int i = 0; i < N * N; i++)
        {
            float v = noise[i] * 18 - 9;
            rgb[i * 3] = Clamp(style.Stroma.R + v);
            rgb[i * 3 + 1] = Clamp(style.Stroma.G + v * 1.2f);
            rgb[i * 3 + 2] = Clamp(style.Stroma.B + v * 0.8f);
        }

        // Lumens first, each lined with a ring of nuclei; scattered nuclei on top.
        for (int l = 0; l < style.LumenCount; l++)
        {
            double cx = random.NextDouble() * N, cy = random.NextDouble() * N;
            double radius = style.LumenRadius * (0.7 + 0.6 * random.NextDouble());
            Ellipse(rgb, cx, cy, radius, radius * (0.7 + 0.3 * random.NextDouble()), random.NextDouble() * Math.PI, style.Lumen, random, 6);
            int ring = (int)(2 * Math.PI * radius / (style.NucleusRadius * 2.6));
            for (int k = 0; k < ring; k++)
            {
                double a = 2 * Math.PI * k / ring;
                double d = radius + style.NucleusRadius * 1.4;
                Nucleus(rgb, style, cx + d * Math.Cos(a), cy + d * Math.Sin(a), random);
            }
        }

        int count = (int)(style.NucleiPer10kPixels * N * N / 10_000);
        for (int k = 0; k < count; k++)
        {
            Nucleus(rgb, style, random.NextDouble() * N, random.NextDouble() * N, random);
        }
    }

    private static void Nucleus(byte[] rgb, TissueClassStyle style, double cx, double cy, Random random)
    {
        double r = style.NucleusRadius * (0.75 + 0.5 * random.NextDouble());
        double e = 1 + (style.NucleusElongation - 1) * random.NextDouble();
        Ellipse(rgb, cx, cy, r * e, r / Math.Sqrt(e), random.NextDouble() * Math.PI, style.Nucleus, random, 22);
    }

    private static void Ellipse(byte[] rgb, double cx, double cy, double a, double b, double angle, (byte R, byte G, byte B) colour, Random random, int jitter)
    {
        const int N = Period;
        double cos = Math.Cos(angle), sin = Math.Sin(angle);
        int extent = (int)Math.Ceiling(Math.Max(a, b)) + 1;
        int shade = random.Next(-jitter, jitter + 1);
        for (int dy = -extent; dy <= extent; dy++)
        {
            for (int dx = -extent; dx <= extent; dx++)
            {
                double px = dx + 0.5 - (cx - Math.Floor(cx)), py = dy + 0.5 - (cy - Math.Floor(cy));
                double u = (px * cos + py * sin) / a, v = (-px * sin + py * cos) / b;
                double d = u * u + v * v;
                if (d > 1)
                {
                    continue;
                }

                int x = (((int)Math.Floor(cx) + dx) % N + N) % N;
                int y = (((int)Math.Floor(cy) + dy) % N + N) % N;
                int i = (y * N + x) * 3;
                // A softer rim reads as a stained boundary rather than a cut-out disc.
                float w = d > 0.7 ? (float)((1 - d) / 0.3) : 1f;
                rgb[i] = Blend(rgb[i], colour.R + shade, w);
                rgb[i + 1] = Blend(rgb[i + 1], colour.G + shade, w);
                rgb[i + 2] = Blend(rgb[i + 2], colour.B + shade, w);
            }
        }
    }

    /// <summary>Periodic bilinear value noise in [0, 1) on a grid of <paramref name="cells"/> per side.</summary>
    internal static float[] ValueNoise(Random random, int cells)
    {
        const int N = Period;
        var grid = new float[cells * cells];
        for (int i = 0; i < grid.Length; i++)
        {
            grid[i] = (float)random.NextDouble();
        }

        var result = new float[N * N];
        double cell = (double)N / cells;
        for (int y = 0; y < N; y++)
        {
            double gy = y / cell;
            int y0 = (int)gy;
            float fy = (float)(gy - y0);
            for (int x = 0; x < N; x++)
            {
                double gx = x / cell;
                int x0 = (int)gx;
                float fx = (float)(gx - x0);
                float a = grid[(y0 % cells) * cells + x0 % cells], b = grid[(y0 % cells) * cells + (x0 + 1) % cells];
                float c = grid[((y0 + 1) % cells) * cells + x0 % cells], d = grid[((y0 + 1) % cells) * cells + (x0 + 1) % cells];
                result[y * N + x] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
            }
        }

        return result;
    }

    private static (byte R, byte G, byte B) Shift((byte R, byte G, byte B) c, (int R, int G, int B) d) =>
        (Clamp(c.R + d.R), Clamp(c.G + d.G), Clamp(c.B + d.B));

    private static byte Blend(byte under, int over, float weight) => Clamp(under + (over - under) * weight);

    private static byte Clamp(float v) => (byte)Math.Clamp((int)MathF.Round(v), 0, 255);
}
