using System.Buffers;
using System.Globalization;
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

    /// <summary>Most source pixels one whole-slide read decodes: about a 92,000 x 92,000 level, minutes of decoding.</summary>
    public const long MaxDecodedPixels = 1L << 33;

    /// <summary>Most bytes of one source strip.</summary>
    private const long MaxStripBytes = 512L << 20;

    /// <summary>
    /// Reads the whole slide at <paramref name="downsample"/> (relative to level 0), from the finest level that is
    /// not finer than needed, strip by strip, so memory stays bounded by the output size plus one strip. A slide
    /// whose nearest level would need more than <see cref="MaxDecodedPixels"/> decoded (a huge slide with no
    /// pyramid) is refused with a <see cref="DeepSlideException"/> instead of being read for hours.
    /// </summary>
    public static RgbImage ReadAtDownsample(this ISlideReader reader, double downsample)
    {
        if (!(downsample >= 1.0) || double.IsInfinity(downsample))
        {
            throw new ArgumentOutOfRangeException(nameof(downsample), downsample, "the downsample must be a finite number of at least 1.");
        }

        SlideInfo info = reader.Info;
        double outWidth = Math.Max(1, Math.Ceiling(info.Width / downsample));
        double outHeight = Math.Max(1, Math.Ceiling(info.Height / downsample));
        SlideLevel level = info.BestLevelForDownsample(downsample);
        double scale = downsample / level.Downsample;
        double decoded = (double)level.Width * level.Height;
        double stripBytes = level.Width * (Math.Ceiling(scale) + 2) * 3;
        string? tooLarge =
            decoded > MaxDecodedPixels ? $"reading it would decode {decoded / 1e9:#,0.#} Gpx, more than the {MaxDecodedPixels / 1e9:0.#} Gpx allowed"
            : stripBytes > MaxStripBytes ? $"reading it needs {stripBytes / (1 << 20):N0} MiB per strip of rows, more than the {MaxStripBytes >> 20} MiB allowed"
            : outWidth * outHeight * 3 > Array.MaxLength ? $"the {outWidth:N0} x {outHeight:N0} px result would not fit in memory"
            : null;
        if (tooLarge is not null)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.SlideTooLarge,
                info.Path,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"the slide is {info.Width:N0} x {info.Height:N0} px and its nearest level to a {downsample:0.#}x downsample is level {level.Index} ({level.Width:N0} x {level.Height:N0}); {tooLarge}. Save the slide with a pyramid (lower-resolution levels)."));
        }

        int width = (int)outWidth;
        int height = (int)outHeight;
        var output = new RgbImage(width, height);

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
                // A level whose declared size disagrees with its downsample (a damaged pyramid) is read within its bounds.
                int srcTop = Math.Min((int)Math.Floor(row * scale), (int)level.Height - 1);
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
