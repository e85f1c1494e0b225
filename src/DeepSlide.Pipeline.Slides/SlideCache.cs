using System.Security.Cryptography;
using System.Text;

namespace DeepSlide.Pipeline.Slides;

/// <summary>
/// Slides on a worker's local disk, keyed by blob name and ETag, so ranges of the same slide are read from one
/// download, and a re-uploaded slide (new ETag) is never served stale. Holds at most <see cref="MaxBytes"/>:
/// the least recently used slides go first. Safe for concurrent callers.
/// </summary>
public sealed class SlideCache
{
    private readonly IBlobStore _store;
    private readonly string _folder;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task<string>> _downloads = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private long _clock;

    public SlideCache(IBlobStore store, string folder, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        _store = store;
        _folder = folder;
        MaxBytes = maxBytes;
        Directory.CreateDirectory(folder);

        // What an earlier process left is unknown to this one's bookkeeping: it goes at start.
        foreach (string file in Directory.EnumerateFiles(folder))
        {
            File.Delete(file);
        }
    }

    public long MaxBytes { get; }

    public int Downloads { get; private set; }

    public long CachedBytes
    {
        get
        {
            lock (_gate)
            {
                return _entries.Values.Sum(e => e.Length);
            }
        }
    }

    /// <summary>The local path of this version of the slide, downloading it once if needed.</summary>
    public async Task<string> GetAsync(string blob, string etag, CancellationToken cancellationToken = default)
    {
        string key = Key(blob, etag);
        Task<string> download;
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out Entry? entry) && File.Exists(entry.Path))
            {
                entry.LastUse = ++_clock;
                return entry.Path;
            }

            if (!_downloads.TryGetValue(key, out download!))
            {
                // Shared by every caller of this version, so no one caller's cancellation ends it for the others;
                // it leaves the table when it ends, however it ends, so a failed download is tried afresh.
                download = DownloadAsync(blob, etag, key, CancellationToken.None);
                _downloads[key] = download;
                download.ContinueWith(
                    _ =>
                    {
                        lock (_gate)
                        {
                            _downloads.Remove(key);
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }

        return await download.WaitAsync(cancellationToken);
    }

    private async Task<string> DownloadAsync(string blob, string etag, string key, CancellationToken cancellationToken)
    {
        string path = Path.Combine(_folder, key + Path.GetExtension(blob));
        string partial = path + ".partial";
        try
        {
            await _store.DownloadAsync(blob, etag, partial, cancellationToken);
            File.Move(partial, path, overwrite: true);
        }
        catch
        {
            // A dropped connection or a full disk leaves a part-written file that nothing would ever read or remove.
            File.Delete(partial);
            throw;
        }

        long length = new FileInfo(path).Length;
        lock (_gate)
        {
            Downloads++;
            _entries[key] = new Entry(path, length) { LastUse = ++_clock };
            Evict(keep: key);
        }

        return path;
    }

    // Least recently used first, never the slide just fetched (a slide larger than the bound is still served).
    private void Evict(string keep)
    {
        long total = _entries.Values.Sum(e => e.Length);
        foreach ((string key, Entry entry) in _entries.Where(kv => kv.Key != keep).OrderBy(kv => kv.Value.LastUse).ToList())
        {
            if (total <= MaxBytes)
            {
                break;
            }

            File.Delete(entry.Path);
            _entries.Remove(key);
            total -= entry.Length;
        }
    }

    private static string Key(string blob, string etag) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{blob}\n{etag}")))[..24];

    private sealed class Entry(string path, long length)
    {
        public string Path { get; } = path;

        public long Length { get; } = length;

        public long LastUse { get; set; }
    }
}
