namespace DeepSlide.Slides;

/// <summary>
/// Open slides, shared by the ranges that read them: a slide's ranges reuse one reader and its decoded-tile cache
/// instead of reopening the file per range. Holds the last few slides; a reader evicted while a range still reads it
/// is closed when that range lets go. A reader that failed is discarded, not handed out again: OpenSlide's errors
/// stick to its handle, so every later read on it would fail too.
/// </summary>
public sealed class SlideReaders(int capacity = 4) : IDisposable
{
    private readonly List<Entry> _open = [];
    private readonly object _gate = new();

    public Lease Open(string path)
    {
        lock (_gate)
        {
            Entry? entry = _open.FirstOrDefault(e => e.Path == path);
            if (entry is null)
            {
                entry = new Entry(path, SlideReader.Open(path));
                _open.Insert(0, entry);
                while (_open.Count > capacity)
                {
                    Entry evicted = _open[^1];
                    _open.RemoveAt(_open.Count - 1);
                    evicted.Evicted = true;
                    CloseIfUnused(evicted);
                }
            }
            else
            {
                _open.Remove(entry);
                _open.Insert(0, entry);
            }

            entry.Users++;
            return new Lease(this, entry);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (Entry entry in _open)
            {
                entry.Evicted = true;
                CloseIfUnused(entry);
            }

            _open.Clear();
        }
    }

    private void Discard(Entry entry)
    {
        lock (_gate)
        {
            _open.Remove(entry);
            entry.Evicted = true;
        }
    }

    private void Release(Entry entry)
    {
        lock (_gate)
        {
            entry.Users--;
            CloseIfUnused(entry);
        }
    }

    private static void CloseIfUnused(Entry entry)
    {
        if (entry.Evicted && entry.Users == 0)
        {
            entry.Reader.Dispose();
        }
    }

    /// <summary>A range's hold on an open slide; disposing it lets the reader go.</summary>
    public sealed class Lease(SlideReaders owner, Entry entry) : IDisposable
    {
        private bool _released;

        public ISlideReader Reader => entry.Reader;

        /// <summary>Takes the reader out of service after it failed; it is closed once its last user lets go.</summary>
        public void Discard() => owner.Discard(entry);

        public void Dispose()
        {
            if (!_released)
            {
                _released = true;
                owner.Release(entry);
            }
        }
    }

    public sealed class Entry(string path, ISlideReader reader)
    {
        public string Path { get; } = path;

        public ISlideReader Reader { get; } = reader;

        public int Users { get; set; }

        public bool Evicted { get; set; }
    }
}
