using System.Security.Cryptography;
using System.Text;
using DeepSlide.Slides.Tiff;
using Microsoft.Win32.SafeHandles;

namespace DeepSlide.Pipeline.Slides;

/// <summary>What a piece of work read of a slide: the bytes it fetched, the slide's size, and why it read it whole if it did.</summary>
public sealed record SlideRead(string Path, long BytesFetched, long SlideBytes, string? WholeBecause)
{
    public double Seconds { get; init; }
}

/// <summary>
/// Slides as sparse local files of their blob's full size, holding only the bytes work has needed: a TIFF's
/// structure (every directory and out-of-line tag value, read through <see cref="TiffByteMap"/>) and then the tiles a
/// piece of work names, fetched with ranged reads (neighbours coalesced, several at once) pinned to the slide's ETag.
/// OpenSlide opens the file as if it were whole; later work on the same slide version adds its bytes to the same file.
/// A file whose tiles cannot be mapped (not a TIFF, NDPI, strips) is downloaded whole through <see cref="SlideCache"/>.
/// </summary>
public sealed class SparseSlides(IBlobStore store, SlideCache whole, string folder, long maxBytes = 20L << 30, int capacity = 8)
{
    private const int Block = 64 * 1024;
    private const long CoalesceGap = 16 * 1024;
    private const int ParallelFetches = 8;

    // One ranged read and one buffer per 4 MiB of a fetch: a whole level or a large coalesced range stays bounded.
    private const int FetchChunk = 4 << 20;

    // At most this many slides, and their fetched bytes within the cache's share of the disk.
    private readonly CachedFiles<Entry> _files = new(folder, "*.sparse", maxBytes, capacity, e => e.Path, e => e.PresentBytes);
    private long _names;

    /// <summary>
    /// The slide's local path with at least the bytes <paramref name="need"/> names (given the slide's map) present;
    /// a null need, or a need that answers null, is the whole slide.
    /// </summary>
    public async Task<SlideRead> GetAsync(string blob, string etag, Func<TiffByteMap, IEnumerable<(long Offset, long Length)>?>? need, CancellationToken cancellationToken = default)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        SlideRead read = await ReadAsync(blob, etag, need, cancellationToken);
        return read with { Seconds = watch.Elapsed.TotalSeconds };
    }

    private async Task<SlideRead> ReadAsync(string blob, string etag, Func<TiffByteMap, IEnumerable<(long Offset, long Length)>?>? need, CancellationToken cancellationToken)
    {
        Entry entry = await EntryAsync(blob, etag, cancellationToken);
        if (entry.Map is null)
        {
            return await WholeAsync(blob, etag, "it is not a TIFF", cancellationToken);
        }

        if (entry.Map.Unmappable is { } why)
        {
            return await WholeAsync(blob, etag, why, cancellationToken);
        }

        // A step that reads full resolution (a small slide's thumbnail) fills in the rest of the same file, so a
        // worker never holds a slide twice.
        IEnumerable<(long Offset, long Length)> ranges = need?.Invoke(entry.Map) ?? [(0, entry.Length)];
        long fetched = await entry.EnsureAsync(ranges, cancellationToken);
        return new SlideRead(entry.Path, fetched + entry.TakeMapBytes(), entry.Length, null);
    }

    private async Task<SlideRead> WholeAsync(string blob, string etag, string because, CancellationToken cancellationToken)
    {
        int before = whole.Downloads;
        string path = await whole.GetAsync(blob, etag, cancellationToken);
        long length = new FileInfo(path).Length;
        return new SlideRead(path, whole.Downloads > before ? length : 0, length, because);
    }

    private Task<Entry> EntryAsync(string blob, string etag, CancellationToken cancellationToken)
    {
        string key = $"{blob}\n{etag.Trim('"')}";

        // Each file of a slide version gets a name of its own: a reader still open on an evicted file must never be
        // handed out for the new one, whose later fetches it would not see.
        return _files.GetAsync(key, () => Entry.OpenAsync(store, blob, etag, Path.Combine(folder, $"{Name(key)}-{Interlocked.Increment(ref _names)}.sparse"), CancellationToken.None), cancellationToken);
    }

    private static string Name(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];

    private sealed class Entry
    {
        private readonly List<(long Start, long End)> _present = [];
        private readonly List<(long Start, long End, TaskCompletionSource Done)> _inFlight = [];
        private readonly IBlobStore _store;
        private readonly string _blob;
        private readonly string _etag;
        private long _mapBytes;

        private Entry(IBlobStore store, string blob, string etag, string path, long length)
        {
            _store = store;
            _blob = blob;
            _etag = etag;
            Path = path;
            Length = length;
        }

        public string Path { get; }

        public long Length { get; }

        public TiffByteMap? Map { get; private set; }

        public long PresentBytes
        {
            get
            {
                lock (_present)
                {
                    return _present.Sum(p => p.End - p.Start);
                }
            }
        }

        public static async Task<Entry> OpenAsync(IBlobStore store, string blob, string etag, string path, CancellationToken cancellationToken)
        {
            BlobVersion version = await store.GetVersionAsync(blob, cancellationToken)
                ?? throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, blob, "the blob does not exist.");
            if (version.ETag.Trim('"') != etag.Trim('"'))
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, blob, $"the blob changed since version {etag}; the run must use the version it was started for.");
            }

            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            using (FileStream file = File.Create(path))
            {
                // A file of the blob's size with nothing written: the file system keeps the holes unallocated.
                file.SetLength(version.Length);
            }

            var entry = new Entry(store, blob, etag, path, version.Length);
            await Task.Run(
                () =>
                {
                    using var stream = new FetchingStream(entry, cancellationToken);
                    entry.Map = TiffByteMap.Read(stream, blob);
                },
                cancellationToken);
            return entry;
        }

        public long TakeMapBytes() => Interlocked.Exchange(ref _mapBytes, 0);

        /// <summary>
        /// Fetches what of <paramref name="ranges"/> is neither here nor being fetched by another caller, and waits for
        /// those; returns the bytes this call fetched. Concurrent callers (a viewer's tiles share TIFF tiles) never fetch
        /// the same bytes twice.
        /// </summary>
        public async Task<long> EnsureAsync(IEnumerable<(long Offset, long Length)> ranges, CancellationToken cancellationToken)
        {
            var mine = new List<(long Start, long End, TaskCompletionSource Done)>();
            var others = new List<Task>();
            lock (_present)
            {
                List<(long Start, long End)> missing = Coalesce(Coalesce(ranges.Select(r => (r.Offset, Math.Min(Length, r.Offset + r.Length))))
                    .SelectMany(Missing))
                    .ToList();
                foreach ((long start, long end) in missing)
                {
                    long at = start;
                    foreach ((long s, long e, TaskCompletionSource done) in _inFlight.Where(f => f.End > start && f.Start < end).OrderBy(f => f.Start))
                    {
                        others.Add(done.Task);
                        if (s > at)
                        {
                            mine.Add((at, s, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
                        }

                        at = Math.Max(at, e);
                    }

                    if (at < end)
                    {
                        mine.Add((at, end, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
                    }
                }

                _inFlight.AddRange(mine);
            }

            long fetched = 0;
            try
            {
                await Parallel.ForEachAsync(
                    mine,
                    new ParallelOptions { MaxDegreeOfParallelism = ParallelFetches, CancellationToken = cancellationToken },
                    async (range, token) =>
                    {
                        try
                        {
                            await FetchAsync(range.Start, range.End, token);
                            Interlocked.Add(ref fetched, range.End - range.Start);
                            range.Done.TrySetResult();
                        }
                        catch (Exception ex)
                        {
                            range.Done.TrySetException(ex);
                            throw;
                        }
                    });
            }
            finally
            {
                lock (_present)
                {
                    foreach (var range in mine)
                    {
                        range.Done.TrySetCanceled(CancellationToken.None);
                        _inFlight.Remove(range);
                    }
                }
            }

            await Task.WhenAll(others).WaitAsync(cancellationToken);
            return fetched;
        }

        /// <summary>Fetches bytes [start, end) into the file in chunks of at most <see cref="FetchChunk"/>, so memory stays flat whatever the range.</summary>
        public async Task FetchAsync(long start, long end, CancellationToken cancellationToken)
        {
            byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Min(FetchChunk, end - start));
            try
            {
                using (SafeFileHandle handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
                {
                    for (long at = start; at < end;)
                    {
                        int count = (int)Math.Min(buffer.Length, end - at);
                        int read = await _store.ReadRangeAsync(_blob, _etag, at, buffer.AsMemory(0, count), cancellationToken);
                        if (read < count)
                        {
                            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, _blob, $"bytes {at + read}..{end} are past the end of the blob; it is truncated.");
                        }

                        await RandomAccess.WriteAsync(handle, buffer.AsMemory(0, count), at, cancellationToken);
                        at += count;
                    }
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }

            lock (_present)
            {
                _present.Add((start, end));
                List<(long, long)> merged = Coalesce(_present, 0).ToList();
                _present.Clear();
                _present.AddRange(merged);
            }
        }

        /// <summary>Structure reads: whole blocks around what the map reads, counted apart.</summary>
        public void EnsureBlock(long position, int count, CancellationToken cancellationToken)
        {
            long start = position / Block * Block;
            long end = Math.Min(Length, ((position + count + Block - 1) / Block) * Block);
            bool present;
            lock (_present)
            {
                present = !Missing((start, end)).Any();
            }

            if (!present)
            {
                // Called from the map reader on a pool thread (Task.Run above), never from a synchronization context.
                FetchAsync(start, end, cancellationToken).GetAwaiter().GetResult();
                Interlocked.Add(ref _mapBytes, end - start);
            }
        }

        private IEnumerable<(long Start, long End)> Missing((long Start, long End) want)
        {
            long at = want.Start;
            foreach ((long s, long e) in _present)
            {
                if (e <= at)
                {
                    continue;
                }

                if (s >= want.End)
                {
                    break;
                }

                if (s > at)
                {
                    yield return (at, Math.Min(s, want.End));
                }

                at = Math.Max(at, e);
                if (at >= want.End)
                {
                    yield break;
                }
            }

            if (at < want.End)
            {
                yield return (at, want.End);
            }
        }

        private static IEnumerable<(long Start, long End)> Coalesce(IEnumerable<(long Start, long End)> ranges, long gap = CoalesceGap)
        {
            (long Start, long End)? current = null;
            foreach ((long s, long e) in ranges.Where(r => r.End > r.Start).OrderBy(r => r.Start))
            {
                if (current is { } c && s <= c.End + gap)
                {
                    current = (c.Start, Math.Max(c.End, e));
                }
                else
                {
                    if (current is { } done)
                    {
                        yield return done;
                    }

                    current = (s, e);
                }
            }

            if (current is { } last)
            {
                yield return last;
            }
        }
    }

    /// <summary>A read-only view of the sparse file that fetches the blocks it is asked for first.</summary>
    private sealed class FetchingStream(Entry entry, CancellationToken cancellationToken) : Stream
    {
        // Unbuffered: a buffer would keep the zeros of a hole that a later fetch fills.
        private readonly FileStream _file = new(entry.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => entry.Length;

        public override long Position { get => _file.Position; set => _file.Position = value; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            count = (int)Math.Min(count, Math.Max(0, entry.Length - _file.Position));
            if (count == 0)
            {
                return 0;
            }

            entry.EnsureBlock(_file.Position, count, cancellationToken);
            return _file.Read(buffer, offset, count);
        }

        public override long Seek(long offset, SeekOrigin origin) => _file.Seek(offset, origin);

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _file.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
