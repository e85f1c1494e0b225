namespace DeepSlide.Pipeline.Slides;

/// <summary>
/// Files a process keeps on its disk by key, the one bookkeeping under both slide caches (whole downloads and sparse
/// files). A file is made once per key however many ask at the same time; a make that fails leaves, so the next caller
/// tries again. Past <c>capacity</c> files, or once their bytes pass <c>maxBytes</c>, the least recently used go and
/// their files are deleted, never the one just asked for (a single file over the bound is still served); a reader
/// that still holds a deleted file keeps reading it, as the file system frees its blocks with the last handle. Files an
/// earlier process left matching <c>pattern</c> are unknown to this bookkeeping and are deleted at start.
/// </summary>
internal sealed class CachedFiles<TEntry>
    where TEntry : class
{
    private readonly Dictionary<string, Task<TEntry>> _entries = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly object _gate = new();
    private readonly long _maxBytes;
    private readonly int _capacity;
    private readonly Func<TEntry, string> _path;
    private readonly Func<TEntry, long> _bytes;

    public CachedFiles(string folder, string pattern, long maxBytes, int capacity, Func<TEntry, string> path, Func<TEntry, long> bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        (_maxBytes, _capacity, _path, _bytes) = (maxBytes, capacity, path, bytes);
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.EnumerateFiles(folder, pattern))
        {
            File.Delete(file);
        }
    }

    /// <summary>The bytes of the files made and kept.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return Made().Sum(_bytes);
            }
        }
    }

    /// <summary>
    /// The entry under <paramref name="key"/>, made by <paramref name="make"/> when there is none or its file is
    /// gone. The make is shared by every caller, so it should not take any one caller's cancellation.
    /// </summary>
    public Task<TEntry> GetAsync(string key, Func<Task<TEntry>> make, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out Task<TEntry>? entry) || entry.IsFaulted || entry.IsCanceled || (entry.IsCompletedSuccessfully && !File.Exists(_path(entry.Result))))
            {
                entry = make();
                _entries[key] = entry;

                // A file's size is known once it is made: the bound is kept then too.
                entry.ContinueWith(_ => Trim(key), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            _order.Remove(key);
            _order.Add(key);
            TrimLocked(key);
            return entry.WaitAsync(cancellationToken);
        }
    }

    private IEnumerable<TEntry> Made() => _entries.Values.Where(e => e.IsCompletedSuccessfully).Select(e => e.Result);

    private void Trim(string keep)
    {
        lock (_gate)
        {
            TrimLocked(keep);
        }
    }

    private void TrimLocked(string keep)
    {
        foreach (string old in _order.Where(k => k != keep).ToList())
        {
            if (_order.Count <= _capacity && Made().Sum(_bytes) <= _maxBytes)
            {
                return;
            }

            _order.Remove(old);
            if (_entries.Remove(old, out Task<TEntry>? evicted) && evicted.IsCompletedSuccessfully)
            {
                File.Delete(_path(evicted.Result));
            }
        }
    }
}
