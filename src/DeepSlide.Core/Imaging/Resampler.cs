namespace DeepSlide.Imaging;

/// <summary>Box-filter (area) resampling of interleaved RGB, for downscaling and mild rescaling.</summary>
public static class Resampler
{
    /// <summary>
    /// Resamples the source rectangle starting at (<paramref name="srcX"/>, <paramref name="srcY"/>) of size
    /// <paramref name="srcWidth"/> x <paramref name="srcHeight"/> (fractional) into the whole destination.
    /// Each destination pixel is the mean of the source pixels whose index falls in its footprint;
    /// footprints are at least one pixel, so upscaling degrades to nearest neighbour.
    /// </summary>
    public static void Resample(
        ReadOnlySpan<byte> src, int srcStrideBytes, int srcImageWidth, int srcImageHeight,
        double srcX, double srcY, double srcWidth, double srcHeight,
        Span<byte> dst, int dstWidth, int dstHeight)
    {
        if (dst.Length < dstWidth * dstHeight * 3)
        {
            throw new ArgumentException("Destination too small.", nameof(dst));
        }

        Span<int> x0 = dstWidth <= 4096 ? stackalloc int[dstWidth] : new int[dstWidth];
        Span<int> x1 = dstWidth <= 4096 ? stackalloc int[dstWidth] : new int[dstWidth];
        Footprints(srcX, srcWidth / dstWidth, srcImageWidth, x0, x1);

        double sy = srcHeight / dstHeight;
        for (int j = 0; j < dstHeight; j++)
        {
            (int ya, int yb) = Footprint(srcY, sy, j, srcImageHeight);
            Span<byte> dstRow = dst.Slice(j * dstWidth * 3, dstWidth * 3);
            for (int i = 0; i < dstWidth; i++)
            {
                int sumR = 0, sumG = 0, sumB = 0;
                int xa = x0[i], xb = x1[i];
                for (int y = ya; y < yb; y++)
                {
                    ReadOnlySpan<byte> row = src.Slice(y * srcStrideBytes + xa * 3, (xb - xa) * 3);
                    for (int k = 0; k < row.Length; k += 3)
                    {
                        sumR += row[k];
                        sumG += row[k + 1];
                        sumB += row[k + 2];
                    }
                }

                int n = (yb - ya) * (xb - xa);
                int half = n / 2;
                dstRow[i * 3] = (byte)((sumR + half) / n);
                dstRow[i * 3 + 1] = (byte)((sumG + half) / n);
                dstRow[i * 3 + 2] = (byte)((sumB + half) / n);
            }
        }
    }

    /// <summary>Downscales a whole image to the given size by area averaging.</summary>
    public static RgbImage Resize(RgbImage source, int width, int height)
    {
        var result = new RgbImage(width, height);
        Resample(source.Pixels, source.Stride, source.Width, source.Height, 0, 0, source.Width, source.Height, result.Pixels, width, height);
        return result;
    }

    private static void Footprints(double start, double scale, int limit, Span<int> from, Span<int> to)
    {
        for (int i = 0; i < from.Length; i++)
        {
            (from[i], to[i]) = Footprint(start, scale, i, limit);
        }
    }

    private static (int From, int To) Footprint(double start, double scale, int index, int limit)
    {
        int a = (int)Math.Floor(start + index * scale);
        int b = (int)Math.Floor(start + (index + 1) * scale);
        a = Math.Clamp(a, 0, limit - 1);
        b = Math.Clamp(Math.Max(b, a + 1), a + 1, limit);
        return (a, b);
    }
}
