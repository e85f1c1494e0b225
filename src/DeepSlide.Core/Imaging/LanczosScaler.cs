namespace DeepSlide.Imaging;

/// <summary>
/// Downscaling with a Lanczos-3 filter widened by the scale (antialiased), the way Pillow's <c>Image.thumbnail</c>
/// does it with <c>LANCZOS</c> and its default reducing gap of 2: the size that keeps the aspect ratio within the
/// bounds, a box-average reduction by an integer factor first when the scale is at least twice the gap, then a
/// horizontal and a vertical pass, each rounded to 8 bits. Deep Zoom tiles are scaled with it, so they match
/// OpenSlide's <c>DeepZoomGenerator</c>, which scales with Pillow.
/// </summary>
public static class LanczosScaler
{
    private const double Support = 3.0;
    private const double ReducingGap = 2.0;

    /// <summary>The size <c>Image.thumbnail((maxWidth, maxHeight))</c> gives an image of the given size.</summary>
    public static (int Width, int Height) ThumbnailSize(int width, int height, int maxWidth, int maxHeight)
    {
        if (maxWidth >= width && maxHeight >= height)
        {
            return (width, height);
        }

        double aspect = (double)width / height;
        int x = maxWidth;
        int y = maxHeight;
        if ((double)x / y >= aspect)
        {
            x = RoundAspect(y * aspect, n => Math.Abs(aspect - ((double)n / y)));
        }
        else
        {
            y = RoundAspect(x / aspect, n => n == 0 ? 0 : Math.Abs(aspect - ((double)x / n)));
        }

        return (x, y);
    }

    /// <summary>Scales <paramref name="source"/> down to fit within the bounds, keeping its aspect ratio.</summary>
    public static RgbImage Thumbnail(RgbImage source, int maxWidth, int maxHeight)
    {
        (int width, int height) = ThumbnailSize(source.Width, source.Height, maxWidth, maxHeight);
        return (width, height) == (source.Width, source.Height) ? source : Resize(source, width, height);
    }

    /// <summary>Pillow's <c>resize((width, height), LANCZOS, reducing_gap=2.0)</c>.</summary>
    public static RgbImage Resize(RgbImage source, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        double boxRight = source.Width;
        double boxBottom = source.Height;
        int factorX = Math.Max(1, (int)(source.Width / (double)width / ReducingGap));
        int factorY = Math.Max(1, (int)(source.Height / (double)height / ReducingGap));
        if (factorX > 1 || factorY > 1)
        {
            source = Reduce(source, factorX, factorY);
            boxRight /= factorX;
            boxBottom /= factorY;
        }

        RgbImage horizontal = Pass(source, width, boxRight, horizontal: true);
        return Pass(horizontal, height, boxBottom, horizontal: false);
    }

    // Pillow's Image.reduce: each output pixel is the rounded mean of its factorX x factorY block (partial at the edges).
    private static RgbImage Reduce(RgbImage source, int factorX, int factorY)
    {
        int width = (source.Width + factorX - 1) / factorX;
        int height = (source.Height + factorY - 1) / factorY;
        var reduced = new RgbImage(width, height);
        for (int y = 0; y < height; y++)
        {
            int y0 = y * factorY;
            int y1 = Math.Min(y0 + factorY, source.Height);
            for (int x = 0; x < width; x++)
            {
                int x0 = x * factorX;
                int x1 = Math.Min(x0 + factorX, source.Width);
                int count = (x1 - x0) * (y1 - y0);
                int r = 0, g = 0, b = 0;
                for (int yy = y0; yy < y1; yy++)
                {
                    int i = ((yy * source.Width) + x0) * 3;
                    for (int xx = x0; xx < x1; xx++, i += 3)
                    {
                        r += source.Pixels[i];
                        g += source.Pixels[i + 1];
                        b += source.Pixels[i + 2];
                    }
                }

                int o = ((y * width) + x) * 3;
                reduced.Pixels[o] = (byte)((r + (count / 2)) / count);
                reduced.Pixels[o + 1] = (byte)((g + (count / 2)) / count);
                reduced.Pixels[o + 2] = (byte)((b + (count / 2)) / count);
            }
        }

        return reduced;
    }

    // One separable pass over [0, boxEnd) of the source's axis into outSize samples (Pillow's precompute_coeffs).
    private static RgbImage Pass(RgbImage source, int outSize, double boxEnd, bool horizontal)
    {
        int inSize = horizontal ? source.Width : source.Height;
        if (outSize == inSize && boxEnd == inSize)
        {
            return source;
        }

        double scale = boxEnd / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = Support * filterScale;
        var starts = new int[outSize];
        var weights = new double[outSize][];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int min = Math.Max(0, (int)(center - support + 0.5));
            int max = Math.Min(inSize, (int)(center + support + 0.5)) - min;
            var k = new double[Math.Max(0, max)];
            double total = 0;
            for (int i = 0; i < k.Length; i++)
            {
                k[i] = Lanczos((i + min - center + 0.5) / filterScale);
                total += k[i];
            }

            if (total != 0)
            {
                for (int i = 0; i < k.Length; i++)
                {
                    k[i] /= total;
                }
            }

            starts[o] = min;
            weights[o] = k;
        }

        int width = horizontal ? outSize : source.Width;
        int height = horizontal ? source.Height : outSize;
        var result = new RgbImage(width, height);
        byte[] src = source.Pixels;
        byte[] dst = result.Pixels;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int o = horizontal ? x : y;
                double[] k = weights[o];
                double r = 0, g = 0, b = 0;
                for (int i = 0; i < k.Length; i++)
                {
                    int s = horizontal ? ((y * source.Width) + starts[o] + i) * 3 : ((((starts[o] + i) * source.Width) + x) * 3);
                    r += k[i] * src[s];
                    g += k[i] * src[s + 1];
                    b += k[i] * src[s + 2];
                }

                int d = ((y * width) + x) * 3;
                dst[d] = Clip(r);
                dst[d + 1] = Clip(g);
                dst[d + 2] = Clip(b);
            }
        }

        return result;
    }

    private static byte Clip(double value) => (byte)Math.Clamp(Math.Floor(value + 0.5), 0, 255);

    private static double Lanczos(double x) => x is > -Support and < Support ? Sinc(x) * Sinc(x / Support) : 0;

    private static double Sinc(double x) => x == 0 ? 1 : Math.Sin(Math.PI * x) / (Math.PI * x);

    private static int RoundAspect(double number, Func<int, double> key)
    {
        int floor = (int)Math.Floor(number);
        int ceiling = (int)Math.Ceiling(number);
        int best = key(ceiling) < key(floor) ? ceiling : floor;
        return Math.Max(best, 1);
    }
}
