namespace DeepSlide.Slides;

internal static class PixelConversion
{
    /// <summary>
    /// Composites premultiplied ARGB (as OpenSlide returns it, 0xAARRGGBB) over white into interleaved RGB.
    /// Over white, a premultiplied channel c becomes c + (255 - a); fully transparent pixels become white.
    /// </summary>
    public static void PremultipliedArgbToRgbOnWhite(ReadOnlySpan<uint> argb, Span<byte> rgb)
    {
        for (int i = 0; i < argb.Length; i++)
        {
            uint p = argb[i];
            uint white = 255 - (p >> 24);
            rgb[i * 3] = (byte)(((p >> 16) & 0xFF) + white);
            rgb[i * 3 + 1] = (byte)(((p >> 8) & 0xFF) + white);
            rgb[i * 3 + 2] = (byte)((p & 0xFF) + white);
        }
    }

    /// <summary>Composites straight (unpremultiplied) RGBA over white into interleaved RGB, rounding to nearest.</summary>
    public static void RgbaToRgbOnWhite(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        for (int i = 0, n = rgba.Length / 4; i < n; i++)
        {
            int a = rgba[i * 4 + 3], white = 255 - a;
            rgb[i * 3] = (byte)((rgba[i * 4] * a + 255 * white + 127) / 255);
            rgb[i * 3 + 1] = (byte)((rgba[i * 4 + 1] * a + 255 * white + 127) / 255);
            rgb[i * 3 + 2] = (byte)((rgba[i * 4 + 2] * a + 255 * white + 127) / 255);
        }
    }
}
