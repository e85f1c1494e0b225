using DeepSlide.Caching;

namespace DeepSlide.Slides;

/// <summary>
/// Open slides, shared by the ranges that read them: a slide's ranges reuse one reader and its decoded-tile cache
/// instead of reopening the file per range. Holds the last few slides; a reader evicted while a range still reads it
/// is closed when that range lets go. A reader that failed is discarded, not handed out again: OpenSlide's errors
/// stick to its handle, so every later read on it would fail too.
/// </summary>
public sealed class SlideReaders(int capacity = 4) : IDisposable
{
    private readonly LeasedCache<ISlideReader> _open = new(capacity);

    public Lease Open(string path) => new(_open.Get(path, () => SlideReader.Open(path)));

    public void Dispose() => _open.Dispose();

    /// <summary>A range's hold on an open slide; disposing it lets the reader go.</summary>
    public sealed class Lease(LeasedCache<ISlideReader>.Lease lease) : IDisposable
    {
        public ISlideReader Reader => lease.Value;

        /// <summary>Takes the reader out of service after it failed; it is closed once its last user lets go.</summary>
        public void Discard() => lease.Discard();

        public void Dispose() => lease.Dispose();
    }
}
