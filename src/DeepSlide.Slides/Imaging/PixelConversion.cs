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
}
