using DeepSlide.Imaging;

namespace DeepSlide.Slides;

/// <summary>
/// Reads pixels from a slide. Implementations are safe for concurrent reads from several threads.
/// </summary>
public interface ISlideReader : IDisposable
{
    SlideInfo Info { get; }

    /// <summary>
    /// Reads a <paramref name="width"/> x <paramref name="height"/> region of <paramref name="level"/> whose top-left
    /// corner is (<paramref name="x"/>, <paramref name="y"/>) in level-0 pixels, as interleaved RGB into
    /// <paramref name="rgb"/>. Areas outside the slide or transparent in the file come back white.
    /// </summary>
    void ReadRegion(int level, long x, long y, int width, int height, Span<byte> rgb);

    /// <summary>Reads an associated image (label, macro, thumbnail) by name.</summary>
    RgbImage ReadAssociatedImage(string name);

    /// <summary>
    /// A second, independent handle on the same slide, so another reader thread does not share this one's locks and
    /// cache; null when this reader is as good shared (the default).
    /// </summary>
    ISlideReader? OpenAnother() => null;
}
