using System.Runtime.InteropServices;
using DeepSlide.Imaging;
using SkiaSharp;

namespace DeepSlide.Slides;

/// <summary>Encodes RGB images to PNG or JPEG files (by extension).</summary>
public static class ImageFiles
{
    public static void Save(RgbImage image, string path, int jpegQuality = 90) =>
        File.WriteAllBytes(path, Encode(image.Pixels, image.Width, image.Height, IsJpeg(path), jpegQuality));

    public static void Save(ReadOnlySpan<byte> rgb, int width, int height, string path, int jpegQuality = 90) =>
        File.WriteAllBytes(path, Encode(rgb, width, height, IsJpeg(path), jpegQuality));

    public static byte[] Encode(ReadOnlySpan<byte> rgb, int width, int height, bool jpeg, int jpegQuality = 90)
    {
        var rgba = new byte[width * height * 4];
        for (int i = 0; i < width * height; i++)
        {
            rgba[i * 4] = rgb[i * 3];
            rgba[i * 4 + 1] = rgb[i * 3 + 1];
            rgba[i * 4 + 2] = rgb[i * 3 + 2];
            rgba[i * 4 + 3] = 255;
        }

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        GCHandle pin = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, pin.AddrOfPinnedObject(), width * 4);
            using SKData? data = jpeg
                ? pixmap.Encode(new SKJpegEncoderOptions(jpegQuality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore))
                : pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 6));
            return data?.ToArray() ?? throw new InvalidOperationException("Skia could not encode the image.");
        }
        finally
        {
            pin.Free();
        }
    }

    public static RgbImage Load(string path)
    {
        using var reader = Raster.RasterSlideReader.Open(path);
        return reader.ReadRegion(0, 0, 0, (int)reader.Info.Width, (int)reader.Info.Height);
    }

    private static bool IsJpeg(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".jpg" or ".jpeg";
}
