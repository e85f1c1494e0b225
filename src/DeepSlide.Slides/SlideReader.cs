using DeepSlide.Slides.OpenSlide;
using DeepSlide.Slides.Raster;
using DeepSlide.Slides.Tiff;

namespace DeepSlide.Slides;

/// <summary>Opens a slide file with the reader its contents call for.</summary>
public static class SlideReader
{
    private static readonly HashSet<string> RasterExtensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif" };

    /// <summary>Extensions looked for when a folder of slides is scanned.</summary>
    public static IReadOnlySet<string> SlideExtensions { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".svs", ".tif", ".tiff", ".ndpi", ".vms", ".vmu", ".scn", ".mrxs", ".svslide", ".bif", ".jpg", ".jpeg", ".png",
    };

    public static ISlideReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, path, "the file does not exist.");
        }

        if (file.Length == 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.EmptyFile, path, "the file is empty (0 bytes).");
        }

        FileKind kind = Sniff(path);
        switch (kind)
        {
            case FileKind.Jpeg or FileKind.Png or FileKind.OtherRaster:
                return RasterSlideReader.Open(path);
            case FileKind.Tiff:
                // A structurally broken TIFF gets a precise message before OpenSlide sees it.
                TiffStructure tiff = TiffStructure.Read(path);
                if (OpenSlideReader.DetectVendor(path) is not null)
                {
                    return OpenSlideReader.Open(path);
                }

                if (!tiff.FirstDirectory.IsTiled)
                {
                    return PlainTiffDecoder.Open(path, tiff);
                }

                throw new DeepSlideException(DeepSlideErrorReason.UnsupportedFormat, path, "OpenSlide does not recognise this tiled TIFF.");
            default:
                if (OpenSlideReader.DetectVendor(path) is not null)
                {
                    return OpenSlideReader.Open(path);
                }

                throw new DeepSlideException(
                    DeepSlideErrorReason.UnsupportedFormat,
                    path,
                    "the file is not a slide format this program reads (OpenSlide's: SVS, NDPI, MRXS, SCN, VMS, BIF, tiled TIFF; or a flat JPEG, PNG or TIFF).");
        }
    }

    private enum FileKind
    {
        Unknown,
        Jpeg,
        Png,
        Tiff,
        OtherRaster,
    }

    private static FileKind Sniff(string path)
    {
        Span<byte> head = stackalloc byte[12];
        int n;
        using (var stream = File.OpenRead(path))
        {
            n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }

        head = head[..n];
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF]))
        {
            return FileKind.Jpeg;
        }

        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']))
        {
            return FileKind.Png;
        }

        if (head.StartsWith("II*\0"u8) || head.StartsWith("MM\0*"u8) || head.StartsWith("II+\0"u8) || head.StartsWith("MM\0+"u8))
        {
            return FileKind.Tiff;
        }

        if (head.StartsWith("BM"u8) || head.StartsWith("GIF8"u8) || (head.Length >= 12 && head[8..12].SequenceEqual("WEBP"u8)))
        {
            return FileKind.OtherRaster;
        }

        return RasterExtensions.Contains(Path.GetExtension(path)) ? FileKind.OtherRaster : FileKind.Unknown;
    }
}
