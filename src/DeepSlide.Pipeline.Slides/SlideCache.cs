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
    private readonly CachedFiles<Entry> _files;
    private int _downloads;

    public SlideCache(IBlobStore store, string folder, long maxBytes)
    {
        _store = store;
        _folder = folder;
        _files = new CachedFiles<Entry>(folder, "*", maxBytes, int.MaxValue, e => e.Path, e => e.Length);
        MaxBytes = maxBytes;
    }

    public long MaxBytes { get; }

    public int Downloads => Volatile.Read(ref _downloads);

    public long CachedBytes => _files.Bytes;

    /// <summary>The local path of this version of the slide, downloading it once if needed.</summary>
    public async Task<string> GetAsync(string blob, string etag, CancellationToken cancellationToken = default)
    {
        string key = Key(blob, etag);
        return (await _files.GetAsync(key, () => DownloadAsync(blob, etag, key), cancellationToken)).Path;
    }

    // Shared by every caller of this version, so no one caller's cancellation ends it for the others.
    private async Task<Entry> DownloadAsync(string blob, string etag, string key)
    {
        string path = Path.Combine(_folder, key + Path.GetExtension(blob));
        string partial = path + ".partial";
        try
        {
            await _store.DownloadAsync(blob, etag, partial, CancellationToken.None);
            File.Move(partial, path, overwrite: true);
        }
        catch
        {
            // A dropped connection or a full disk leaves a part-written file that nothing would ever read or remove.
            File.Delete(partial);
            throw;
        }

        Interlocked.Increment(ref _downloads);
        return new Entry(path, new FileInfo(path).Length);
    }

    private static string Key(string blob, string etag) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{blob}\n{etag}")))[..24];

    private sealed record Entry(string Path, long Length);
}
