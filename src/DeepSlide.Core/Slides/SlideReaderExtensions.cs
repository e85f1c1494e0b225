using System.Buffers;
using DeepSlide.Imaging;

namespace DeepSlide.Slides;

public static class SlideReaderExtensions
{
    public static RgbImage ReadRegion(this ISlideReader reader, int level, long x, long y, int width, int height)
    {
        CheckLevel(reader, level);
        var image = new RgbImage(width, height);
        reader.ReadRegion(level, x, y, width, height, image.Pixels);
        return image;
    }

    /// <summary>
    /// Reads the whole slide at <paramref name="downsample"/> (relative to level 0), from the finest level that is
    /// not finer than needed, strip by strip, so memory stays bounded by the output size plus one strip.
    /// </summary>
    public static RgbImage ReadAtDownsample(this ISlideReader reader, double downsample)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(downsample, 1.0);
        SlideInfo info = reader.Info;
        int width = (int)Math.Max(1, Math.Ceiling(info.Width / downsample));
        int height = (int)Math.Max(1, Math.Ceiling(info.Height / downsample));
        SlideLevel level = info.BestLevelForDownsample(downsample);
        var output = new RgbImage(width, height);

        double scale = downsample / level.Downsample;
        int levelWidth = (int)level.Width;
        // At most about 8 Mpx of the source level per read, whatever the slide's width.
        int outputRowsPerStrip = (int)Math.Clamp((8_000_000 / (levelWidth * scale)) - 1, 1, 32);
        int maxStripRows = (int)Math.Ceiling(outputRowsPerStrip * scale) + 2;
        byte[] strip = ArrayPool<byte>.Shared.Rent(checked(levelWidth * maxStripRows * 3));
        try
        {
            for (int row = 0; row < height; row += outputRowsPerStrip)
            {
                int rows = Math.Min(outputRowsPerStrip, height - row);
                int srcTop = (int)Math.Floor(row * scale);
                int srcBottom = Math.Min((int)level.Height, Math.Max(srcTop + 1, (int)Math.Ceiling((row + rows) * scale)));
                int srcRows = srcBottom - srcTop;
                long y0 = (long)Math.Round(srcTop * level.Downsample);
                reader.ReadRegion(level.Index, 0, y0, levelWidth, srcRows, strip);
                Resampler.Resample(
                    strip, levelWidth * 3, levelWidth, srcRows,
                    0, row * scale - srcTop, width * scale, rows * scale,
                    output.Pixels.AsSpan(row * width * 3), width, rows);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(strip);
        }

        return output;
    }

    /// <summary>A thumbnail whose long side is at most <paramref name="maxSize"/> pixels.</summary>
    public static RgbImage ReadThumbnail(this ISlideReader reader, int maxSize = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSize);
        double downsample = Math.Max(1.0, Math.Max(reader.Info.Width, reader.Info.Height) / (double)maxSize);
        return reader.ReadAtDownsample(downsample);
    }

    private static void CheckLevel(ISlideReader reader, int level)
    {
        if (level < 0 || level >= reader.Info.Levels.Count)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.LevelUnavailable,
                reader.Info.Path,
                $"level {level} does not exist; the slide has levels 0 to {reader.Info.Levels.Count - 1}.");
        }
    }
}
