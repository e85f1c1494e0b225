using DeepSlide.Imaging;

namespace DeepSlide.Tissue;

/// <summary>
/// A binary tissue mask over the whole slide at a low resolution. Pixel (i, j) covers level-0 pixels
/// [i * Downsample, (i + 1) * Downsample) horizontally, and likewise vertically.
/// </summary>
public sealed class TissueMask
{
    public TissueMask(int width, int height, double downsample, bool[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (pixels.Length != width * height)
        {
            throw new ArgumentException("Mask size mismatch.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Downsample = downsample;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    public double Downsample { get; }

    public bool[] Pixels { get; }

    public bool this[int x, int y] => Pixels[y * Width + x];

    public int TissuePixelCount => Pixels.Count(p => p);

    public double TissueFraction => TissuePixelCount / (double)Pixels.Length;

    /// <summary>
    /// The fraction of a level-0 rectangle that is tissue. Parts outside the slide count as background,
    /// so an edge tile padded with white gets a proportionally smaller fraction.
    /// </summary>
    public double FractionOf(long x, long y, double width, double height)
    {
        double x0 = x / Downsample, y0 = y / Downsample;
        double x1 = (x + width) / Downsample, y1 = (y + height) / Downsample;
        int ia = (int)Math.Round(x0), ja = (int)Math.Round(y0);
        int ib = Math.Max(ia + 1, (int)Math.Round(x1)), jb = Math.Max(ja + 1, (int)Math.Round(y1));
        long total = (long)(ib - ia) * (jb - ja);
        int ca = Math.Clamp(ia, 0, Width), cb = Math.Clamp(ib, 0, Width);
        int ra = Math.Clamp(ja, 0, Height), rb = Math.Clamp(jb, 0, Height);
        // A direct count: a tile covers a few dozen mask pixels, and an integral image would cost 4 bytes a pixel.
        int count = 0;
        for (int j = ra; j < rb; j++)
        {
            ReadOnlySpan<bool> row = Pixels.AsSpan(j * Width + ca, cb - ca);
            foreach (bool p in row)
            {
                count += p ? 1 : 0;
            }
        }

        return count / (double)total;
    }

    /// <summary>The mask as a black (background) and white (tissue) picture.</summary>
    public RgbImage ToImage()
    {
        var image = new RgbImage(Width, Height);
        for (int i = 0; i < Pixels.Length; i++)
        {
            byte v = Pixels[i] ? (byte)255 : (byte)0;
            image.Pixels[i * 3] = v;
            image.Pixels[i * 3 + 1] = v;
            image.Pixels[i * 3 + 2] = v;
        }

        return image;
    }
}
