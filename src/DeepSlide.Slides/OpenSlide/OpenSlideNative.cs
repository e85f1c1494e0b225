using System.Runtime.InteropServices;

namespace DeepSlide.Slides.OpenSlide;

/// <summary>The OpenSlide C API (3.4.1 from Debian's libopenslide0). Strings are UTF-8; returned strings belong to OpenSlide.</summary>
internal static unsafe partial class OpenSlideNative
{
    private const string Library = "libopenslide.so.0";

    [LibraryImport(Library, EntryPoint = "openslide_detect_vendor", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint DetectVendor(string filename);

    [LibraryImport(Library, EntryPoint = "openslide_open", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial OpenSlideHandle Open(string filename);

    [LibraryImport(Library, EntryPoint = "openslide_close")]
    internal static partial void Close(nint osr);

    [LibraryImport(Library, EntryPoint = "openslide_get_error")]
    internal static partial nint GetError(OpenSlideHandle osr);

    [LibraryImport(Library, EntryPoint = "openslide_get_level_count")]
    internal static partial int GetLevelCount(OpenSlideHandle osr);

    [LibraryImport(Library, EntryPoint = "openslide_get_level_dimensions")]
    internal static partial void GetLevelDimensions(OpenSlideHandle osr, int level, out long width, out long height);

    [LibraryImport(Library, EntryPoint = "openslide_get_level_downsample")]
    internal static partial double GetLevelDownsample(OpenSlideHandle osr, int level);

    [LibraryImport(Library, EntryPoint = "openslide_read_region")]
    internal static partial void ReadRegion(OpenSlideHandle osr, uint* dest, long x, long y, int level, long width, long height);

    [LibraryImport(Library, EntryPoint = "openslide_get_property_names")]
    internal static partial nint GetPropertyNames(OpenSlideHandle osr);

    [LibraryImport(Library, EntryPoint = "openslide_get_property_value", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint GetPropertyValue(OpenSlideHandle osr, string name);

    [LibraryImport(Library, EntryPoint = "openslide_get_associated_image_names")]
    internal static partial nint GetAssociatedImageNames(OpenSlideHandle osr);

    [LibraryImport(Library, EntryPoint = "openslide_get_associated_image_dimensions", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void GetAssociatedImageDimensions(OpenSlideHandle osr, string name, out long width, out long height);

    [LibraryImport(Library, EntryPoint = "openslide_read_associated_image", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial void ReadAssociatedImage(OpenSlideHandle osr, string name, uint* dest);

    internal static string? String(nint utf8) => utf8 == 0 ? null : Marshal.PtrToStringUTF8(utf8);

    /// <summary>Reads a NULL-terminated array of C strings.</summary>
    internal static List<string> Strings(nint array)
    {
        var result = new List<string>();
        if (array == 0)
        {
            return result;
        }

        for (nint* p = (nint*)array; *p != 0; p++)
        {
            result.Add(Marshal.PtrToStringUTF8(*p)!);
        }

        return result;
    }
}

/// <summary>An openslide_t*. The SafeHandle's reference count keeps close from racing with reads on other threads.</summary>
internal sealed class OpenSlideHandle : SafeHandle
{
    public OpenSlideHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        OpenSlideNative.Close(handle);
        return true;
    }
}
