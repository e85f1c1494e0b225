namespace DeepSlide.Caching;

/// <summary>
/// Values that are costly to make and must be disposed (model sessions, open slides), shared by key among the pieces
/// of work that hold them. A value is made once per key however many ask at the same time (single flight), is handed
/// out as a lease, and is disposed only once it has left the cache (evicted past <paramref name="capacity"/>, least
/// recently used first, retired, or discarded) and its last lease is released: leaving never pulls a value out from
/// under a piece still using it, which a plain memory cache's eviction callback would. A make that fails leaves the
/// cache, so the next caller tries again.
/// </summary>
public sealed class LeasedCache<TValue>(int capacity = int.MaxValue) : IDisposable
    where TValue : class, IDisposable
{
    private readonly List<Entry> _entries = [];
    private readonly object _gate = new();

    /// <summary>
    /// A lease on the value under <paramref name="key"/>, made by <paramref name="make"/> when there is none. The
    /// make is shared by every caller, so no one caller's cancellation ends it.
    /// </summary>
    public async Task<Lease> GetAsync(string key, Func<Task<TValue>> make, CancellationToken cancellationToken = default)
    {
        Entry entry = Take(key, () => Task.Run(make), out bool created);
        if (created)
        {
            _ = entry.Value.ContinueWith(made => Made(entry, made.IsCompletedSuccessfully), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        try
        {
            return new Lease(this, entry, await entry.Value.WaitAsync(cancellationToken));
        }
        catch
        {
            Release(entry);
            throw;
        }
    }

    /// <summary>A lease on the value under <paramref name="key"/>, made now by <paramref name="make"/> when there is none; a make that throws leaves nothing behind.</summary>
    public Lease Get(string key, Func<TValue> make)
    {
        Entry entry = Take(key, () => Task.FromResult(make()), out _);
        return new Lease(this, entry, entry.Value.Result);
    }

    /// <summary>The value under <paramref name="key"/> if it is made and in the cache; no lease is taken.</summary>
    public TValue? Peek(string key)
    {
        lock (_gate)
        {
            return Find(key) is { Value.IsCompletedSuccessfully: true } entry ? entry.Value.Result : null;
        }
    }

    /// <summary>Takes the entries whose keys match out of the cache; each is disposed once no lease holds it.</summary>
    public void Retire(Func<string, bool> which)
    {
        List<Entry> freed;
        lock (_gate)
        {
            freed = Leave(_entries.Where(e => which(e.Key)).ToList());
        }

        Dispose(freed);
    }

    public void Dispose() => Retire(_ => true);

    private Entry Take(string key, Func<Task<TValue>> make, out bool created)
    {
        List<Entry> freed = [];
        Entry? entry;
        lock (_gate)
        {
            entry = Find(key);
            created = entry is null;
            if (entry is null)
            {
                entry = new Entry(key, make());
                _entries.Insert(0, entry);
                freed = Leave(_entries.Skip(capacity).ToList());
            }
            else
            {
                _entries.Remove(entry);
                _entries.Insert(0, entry);
            }

            entry.Users++;
        }

        Dispose(freed);
        return entry;
    }

    private Entry? Find(string key) => _entries.FirstOrDefault(e => e.Key == key);

    // Under the gate: the entries leave the cache; those no lease holds are returned, to be disposed outside it.
    private List<Entry> Leave(List<Entry> leaving)
    {
        foreach (Entry entry in leaving)
        {
            _entries.Remove(entry);
            entry.Left = true;
        }

        return leaving.Where(Unheld).ToList();
    }

    // Under the gate: whether the entry is to be disposed now, by the caller, and by no one else.
    private static bool Unheld(Entry entry)
    {
        if (!entry.Left || entry.Users > 0 || !entry.Value.IsCompletedSuccessfully || entry.Disposed)
        {
            return false;
        }

        entry.Disposed = true;
        return true;
    }

    private static List<Entry> IfUnheld(Entry entry) => Unheld(entry) ? [entry] : [];

    private void Made(Entry entry, bool succeeded)
    {
        List<Entry> freed;
        lock (_gate)
        {
            freed = succeeded ? IfUnheld(entry) : [];
            if (!succeeded && !entry.Left)
            {
                _entries.Remove(entry);
                entry.Left = true;
            }
        }

        Dispose(freed);
    }

    private void Release(Entry entry)
    {
        List<Entry> freed;
        lock (_gate)
        {
            entry.Users--;
            freed = IfUnheld(entry);
        }

        Dispose(freed);
    }

    private void Discard(Entry entry)
    {
        lock (_gate)
        {
            if (!entry.Left)
            {
                _entries.Remove(entry);
                entry.Left = true;
            }
        }
    }

    private static void Dispose(List<Entry> freed)
    {
        foreach (Entry entry in freed)
        {
            entry.Value.Result.Dispose();
        }
    }

    /// <summary>A hold on a shared value; disposing it lets the value go.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly LeasedCache<TValue> _owner;
        private readonly Entry _entry;
        private int _released;

        internal Lease(LeasedCache<TValue> owner, Entry entry, TValue value) => (_owner, _entry, Value) = (owner, entry, value);

        public TValue Value { get; }

        /// <summary>Takes the value out of service (it failed): never handed out again, disposed once its last lease goes.</summary>
        public void Discard() => _owner.Discard(_entry);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                _owner.Release(_entry);
            }
        }
    }

    internal sealed class Entry(string key, Task<TValue> value)
    {
        public string Key { get; } = key;

        public Task<TValue> Value { get; } = value;

        public int Users { get; set; }

        public bool Left { get; set; }

        public bool Disposed { get; set; }
    }
}
