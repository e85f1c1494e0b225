using System.Globalization;
using System.Text;
using BitMiracle.LibTiff.Classic;
using LibTiff = BitMiracle.LibTiff.Classic.Tiff;
using DeepSlide.Imaging;
using DeepSlide.Slides.Raster;

namespace DeepSlide.Slides.Tiff;

/// <summary>
/// Decodes a plain (stripped, untiled) 8-bit TIFF, RGB, RGBA or grey, through LibTiff.NET (every codec libtiff
/// has, and its predictors). OpenSlide reads only tiled TIFFs, and Skia reads no TIFF at all. RGBA is put over white.
/// </summary>
public static class PlainTiffDecoder
{
    // CCITT fax codecs are for 1-bit images; libtiff has them, but not for the 8-bit samples read here.
    private static readonly HashSet<int> BilevelOnly = [2, 3, 4, 32771];

    public static RasterSlideReader Open(string path, TiffStructure tiff)
    {
        TiffDirectory d = tiff.FirstDirectory;
        if (d.BitsPerSample != 8 || d.PlanarConfiguration != 1 || d.SamplesPerPixel is not (1 or 3 or 4) || d.Photometric is not (0 or 1 or 2))
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.UnsupportedFormat,
                path,
                $"this plain TIFF has {d.SamplesPerPixel} samples of {d.BitsPerSample} bits, photometric {d.Photometric}, planar {d.PlanarConfiguration}; only 8-bit interleaved RGB, RGBA and grey are read.");
        }

        if (d.Width * d.Height > 1L << 28)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.UnsupportedFormat,
                path,
                $"a plain TIFF of {d.Width}x{d.Height} px is too large to decode whole; convert it to a tiled pyramidal TIFF.");
        }

        int width = (int)d.Width, height = (int)d.Height, spp = d.SamplesPerPixel;
        var image = new RgbImage(width, height);
        using (LibTiffErrors.Capture(out StringBuilder errors))
        using (LibTiff file = LibTiff.Open(path, "r")
            ?? throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, $"libtiff could not open it: {errors.ToString().TrimEnd(' ', ';')}."))
        {
            if (BilevelOnly.Contains(d.Compression) || !file.IsCodecConfigured((Compression)d.Compression))
            {
                throw new DeepSlideException(
                    DeepSlideErrorReason.UnsupportedFormat,
                    path,
                    $"this plain TIFF uses compression {d.Compression}, which libtiff does not decode for 8-bit samples (convert it to a tiled pyramidal TIFF).");
            }

            var row = new byte[Math.Max(file.ScanlineSize(), width * spp)];
            for (int y = 0; y < height; y++)
            {
                if (!file.ReadScanline(row, y))
                {
                    throw new DeepSlideException(
                        DeepSlideErrorReason.CorruptFile,
                        path,
                        string.Create(CultureInfo.InvariantCulture, $"row {y} (strip {y / Math.Max(1, d.RowsPerStrip)}) does not decode: {errors.ToString().TrimEnd(' ', ';')}. The file is corrupt."));
                }

                ToRgb(row, spp, d.Photometric == 0, image.Pixels.AsSpan(y * width * 3, width * 3));
            }
        }

        double? mpp = d.XResolution is double res && res > 0
            ? d.ResolutionUnit switch { 3 => 10_000 / res, 2 => 25_400 / res, _ => null }
            : null;
        return RasterSlideReader.FromImage(path, "tiff", image, mpp);
    }

    private static void ToRgb(ReadOnlySpan<byte> row, int spp, bool minIsWhite, Span<byte> rgb)
    {
        if (spp == 4)
        {
            PixelConversion.RgbaToRgbOnWhite(row[..(rgb.Length / 3 * 4)], rgb);
            return;
        }

        for (int i = 0; i < rgb.Length / 3; i++)
        {
            if (spp == 1)
            {
                rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = minIsWhite ? (byte)(255 - row[i]) : row[i];
            }
            else
            {
                rgb[i * 3] = row[i * 3];
                rgb[i * 3 + 1] = row[i * 3 + 1];
                rgb[i * 3 + 2] = row[i * 3 + 2];
            }
        }
    }

    /// <summary>
    /// libtiff reports through one process-wide handler, which by default writes to the console. This one keeps each
    /// thread's messages for the decode running on it, so they end up in the error that names the file.
    /// </summary>
    private sealed class LibTiffErrors : TiffErrorHandler
    {
        [ThreadStatic]
        private static StringBuilder? _current;

        private static readonly Lock Installing = new();
        private static bool _installed;

        public static IDisposable Capture(out StringBuilder errors)
        {
            lock (Installing)
            {
                if (!_installed)
                {
                    LibTiff.SetErrorHandler(new LibTiffErrors());
                    _installed = true;
                }
            }

            errors = _current = new StringBuilder();
            return new Scope();
        }

        public override void ErrorHandler(LibTiff tif, string method, string format, params object[] args) =>
            _current?.Append(string.Format(CultureInfo.InvariantCulture, format, args)).Append("; ");

        public override void ErrorHandlerExt(LibTiff tif, object clientData, string method, string format, params object[] args)
        {
        }

        public override void WarningHandler(LibTiff tif, string method, string format, params object[] args)
        {
        }

        public override void WarningHandlerExt(LibTiff tif, object clientData, string method, string format, params object[] args)
        {
        }

        private sealed class Scope : IDisposable
        {
            public void Dispose() => _current = null;
        }
    }
}
