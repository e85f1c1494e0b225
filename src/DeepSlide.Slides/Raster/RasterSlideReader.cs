using DeepSlide.Imaging;
using SkiaSharp;

namespace DeepSlide.Slides.Raster;

/// <summary>
/// A flat raster image (JPEG, PNG, WebP, BMP, GIF) as a one-level slide, decoded once through Skia.
/// This is the input DeepSlide itself uses (a few-megabyte JPEG per slide); such files are small by nature,
/// so holding the decoded image is bounded. Whole-slide scans belong in a pyramidal format.
/// </summary>
public sealed class RasterSlideReader : ISlideReader
{
    private readonly RgbImage _image;

    private RasterSlideReader(SlideInfo info, RgbImage image)
    {
        Info = info;
        _image = image;
    }

    public SlideInfo Info { get; }

    public static RasterSlideReader Open(string path)
    {
        using var stream = File.OpenRead(path);
        using SKCodec? codec = SKCodec.Create(stream, out SKCodecResult created);
        if (codec is null)
        {
            throw new DeepSlideException(
                created == SKCodecResult.IncompleteInput ? DeepSlideErrorReason.CorruptFile : DeepSlideErrorReason.UnsupportedFormat,
                path,
                $"the image could not be decoded ({Describe(created)}).");
        }

        SKImageInfo info = codec.Info.WithColorType(SKColorType.Rgba8888).WithAlphaType(SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        SKCodecResult result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, $"the image could not be decoded ({Describe(result)}).");
        }

        var image = new RgbImage(info.Width, info.Height);
        // Transparent areas are white, as they are for OpenSlide slides.
        PixelConversion.RgbaToRgbOnWhite(bitmap.GetPixelSpan()[..(info.Width * info.Height * 4)], image.Pixels);

        string format = codec.EncodedFormat.ToString().ToLowerInvariant();
        return new RasterSlideReader(
            new SlideInfo
            {
                Path = path,
                Vendor = format,
                Levels = [new SlideLevel(0, info.Width, info.Height, 1.0)],
                Properties = new Dictionary<string, string> { ["raster.format"] = format },
            },
            image);
    }

    /// <summary>Wraps an image already in memory (a plain TIFF decoded elsewhere, or a test image) as a slide.</summary>
    public static RasterSlideReader FromImage(string path, string vendor, RgbImage image, double? mpp = null) =>
        new(
            new SlideInfo
            {
                Path = path,
                Vendor = vendor,
                Levels = [new SlideLevel(0, image.Width, image.Height, 1.0)],
                MppX = mpp,
                MppY = mpp,
            },
            image);

    public void ReadRegion(int level, long x, long y, int width, int height, Span<byte> rgb)
    {
        if (level != 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.LevelUnavailable, Info.Path, $"level {level} does not exist; a flat image has level 0 only.");
        }

        if (rgb.Length < width * height * 3)
        {
            throw new ArgumentException("Buffer too small.", nameof(rgb));
        }

        RgbImage.Fill(rgb[..(width * height * 3)], 255, 255, 255);
        long x0 = Math.Max(0, x), x1 = Math.Min(_image.Width, x + width);
        if (x1 <= x0)
        {
            return;
        }

        for (int j = 0; j < height; j++)
        {
            long sy = y + j;
            if (sy < 0 || sy >= _image.Height)
            {
                continue;
            }

            _image.Pixels.AsSpan((int)((sy * _image.Width + x0) * 3), (int)(x1 - x0) * 3)
                .CopyTo(rgb.Slice((int)((j * (long)width + (x0 - x)) * 3)));
        }
    }

    public RgbImage ReadAssociatedImage(string name) =>
        throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, Info.Path, $"the slide has no associated image '{name}'; flat images have none.");

    public void Dispose()
    {
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the file is truncated",
        SKCodecResult.ErrorInInput => "the data is corrupt",
        SKCodecResult.Unimplemented => "this variant of the format is not supported",
        SKCodecResult.InvalidInput or SKCodecResult.CouldNotRewind => "the file is not an image Skia recognises",
        _ => result.ToString(),
    };
}
