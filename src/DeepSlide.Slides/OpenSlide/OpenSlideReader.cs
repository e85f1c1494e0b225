using System.Buffers;
using System.Globalization;
using DeepSlide.Imaging;

namespace DeepSlide.Slides.OpenSlide;

/// <summary>
/// Reads any format OpenSlide knows (SVS, NDPI, MRXS, SCN, generic tiled TIFF, ...). Safe for concurrent reads:
/// OpenSlide itself is thread-safe, and the handle is reference-counted across calls.
/// </summary>
public sealed class OpenSlideReader : ISlideReader
{
    private readonly OpenSlideHandle _handle;

    private OpenSlideReader(OpenSlideHandle handle, SlideInfo info)
    {
        _handle = handle;
        Info = info;
    }

    public SlideInfo Info { get; }

    /// <summary>The vendor OpenSlide detects for the file, or null when OpenSlide does not recognise it.</summary>
    public static string? DetectVendor(string path) => OpenSlideNative.String(OpenSlideNative.DetectVendor(path));

    public static OpenSlideReader Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        string? vendor = DetectVendor(full);
        if (vendor is null)
        {
            throw new DeepSlideException(DeepSlideErrorReason.UnsupportedFormat, path, "OpenSlide does not recognise this file as a slide.");
        }

        OpenSlideHandle handle = OpenSlideNative.Open(full);
        if (handle.IsInvalid)
        {
            throw new DeepSlideException(DeepSlideErrorReason.UnsupportedFormat, path, $"OpenSlide detected vendor '{vendor}' but could not open the file.");
        }

        try
        {
            ThrowOnError(handle, path, "opening the slide");
            return new OpenSlideReader(handle, ReadInfo(handle, path, vendor));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public unsafe void ReadRegion(int level, long x, long y, int width, int height, Span<byte> rgb)
    {
        CheckLevel(level);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        int count = checked(width * height);
        if (rgb.Length < count * 3)
        {
            throw new ArgumentException($"Buffer holds {rgb.Length} bytes; {count * 3} needed.", nameof(rgb));
        }

        uint[] argb = ArrayPool<uint>.Shared.Rent(count);
        try
        {
            fixed (uint* p = argb)
            {
                OpenSlideNative.ReadRegion(_handle, p, x, y, level, width, height);
            }

            ThrowOnError(_handle, Info.Path, $"reading level {level} at ({x}, {y}) size {width}x{height}");
            PixelConversion.PremultipliedArgbToRgbOnWhite(argb.AsSpan(0, count), rgb);
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(argb);
        }
    }

    public unsafe RgbImage ReadAssociatedImage(string name)
    {
        if (!Info.AssociatedImages.Contains(name))
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.InvalidArgument,
                Info.Path,
                $"the slide has no associated image '{name}'" + (Info.AssociatedImages.Count == 0 ? "." : $"; it has {string.Join(", ", Info.AssociatedImages)}."));
        }

        OpenSlideNative.GetAssociatedImageDimensions(_handle, name, out long w, out long h);
        var argb = new uint[checked(w * h)];
        fixed (uint* p = argb)
        {
            OpenSlideNative.ReadAssociatedImage(_handle, name, p);
        }

        ThrowOnError(_handle, Info.Path, $"reading associated image '{name}'");
        var image = new RgbImage((int)w, (int)h);
        PixelConversion.PremultipliedArgbToRgbOnWhite(argb, image.Pixels);
        return image;
    }

    public ISlideReader? OpenAnother() => Open(Info.Path);

    public void Dispose() => _handle.Dispose();

    private static SlideInfo ReadInfo(OpenSlideHandle handle, string path, string vendor)
    {
        int count = OpenSlideNative.GetLevelCount(handle);
        ThrowOnError(handle, path, "reading the level count");
        var levels = new List<SlideLevel>(count);
        for (int i = 0; i < count; i++)
        {
            OpenSlideNative.GetLevelDimensions(handle, i, out long w, out long h);
            levels.Add(new SlideLevel(i, w, h, OpenSlideNative.GetLevelDownsample(handle, i)));
        }

        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string name in OpenSlideNative.Strings(OpenSlideNative.GetPropertyNames(handle)))
        {
            properties[name] = OpenSlideNative.String(OpenSlideNative.GetPropertyValue(handle, name)) ?? string.Empty;
        }

        ThrowOnError(handle, path, "reading the properties");
        if (levels.Count == 0 || levels[0].Width <= 0 || levels[0].Height <= 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, "the slide has no readable level 0.");
        }

        return new SlideInfo
        {
            Path = path,
            Vendor = vendor,
            Levels = levels,
            MppX = Mpp(properties, "x"),
            MppY = Mpp(properties, "y"),
            ObjectivePower = Number(properties, "openslide.objective-power"),
            Properties = properties,
            AssociatedImages = OpenSlideNative.Strings(OpenSlideNative.GetAssociatedImageNames(handle)),
        };
    }

    // OpenSlide 3.4 derives openslide.mpp-* for vendor formats only; a generic TIFF records it in its resolution tags.
    private static double? Mpp(Dictionary<string, string> properties, string axis)
    {
        if (Number(properties, $"openslide.mpp-{axis}") is double mpp && mpp > 0)
        {
            return mpp;
        }

        if (properties.TryGetValue("tiff.ResolutionUnit", out string? unit)
            && Number(properties, $"tiff.{axis.ToUpperInvariant()}Resolution") is double resolution && resolution > 0)
        {
            return unit switch
            {
                "centimeter" => 10_000 / resolution,
                "inch" => 25_400 / resolution,
                _ => null,
            };
        }

        return null;
    }

    private static double? Number(Dictionary<string, string> properties, string name) =>
        properties.TryGetValue(name, out string? text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : null;

    private static void ThrowOnError(OpenSlideHandle handle, string path, string doing)
    {
        string? error = OpenSlideNative.String(OpenSlideNative.GetError(handle));
        if (error is not null)
        {
            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, $"OpenSlide failed while {doing}: {error}");
        }
    }

    private void CheckLevel(int level)
    {
        if (level < 0 || level >= Info.Levels.Count)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.LevelUnavailable,
                Info.Path,
                $"level {level} does not exist; the slide has levels 0 to {Info.Levels.Count - 1}.");
        }
    }
}
