using DeepSlide.Pipeline.Slides;
using Azure.Storage.Blobs;
using DeepSlide.Pipeline.Storage;

using DeepSlide.Pipeline.Work;

namespace DeepSlide.Pipeline.Tests;

/// <summary>The blob store on Azurite, and the worker's slide cache over it.</summary>
public sealed class SlideCacheTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-cache-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private async Task<AzureBlobStore> Store() =>
        await AzureBlobStore.CreateAsync(new BlobServiceClient(azurite.ConnectionString), $"slides-{Guid.NewGuid():N}"[..20]);

    private static MemoryStream Bytes(int length, byte value) => new(Enumerable.Repeat(value, length).ToArray());

    [Fact]
    public async Task The_store_reports_versions_and_refuses_a_stale_or_missing_blob()
    {
        AzureBlobStore store = await Store();
        Assert.Null(await store.GetVersionAsync("a.svs"));
        BlobVersion first = await store.UploadAsync("a.svs", Bytes(1000, 1));
        Assert.Equal((1000L, first.ETag), ((await store.GetVersionAsync("a.svs"))!.Length, (await store.GetVersionAsync("a.svs"))!.ETag));
        BlobVersion second = await store.UploadAsync("a.svs", Bytes(10, 2));
        Assert.NotEqual(first.ETag, second.ETag);

        string path = Path.Combine(_folder, "download.svs");
        var stale = await Assert.ThrowsAsync<DeepSlideException>(() => store.DownloadAsync("a.svs", first.ETag, path));
        Assert.Contains("changed since version", stale.Message);
        Assert.False(File.Exists(path));
        var missing = await Assert.ThrowsAsync<DeepSlideException>(() => store.DownloadAsync("nope.svs", "\"0x1\"", path));
        Assert.Equal(DeepSlideErrorReason.FileNotFound, missing.Reason);
    }

    [Fact]
    public async Task A_slide_version_is_downloaded_once_even_by_concurrent_callers_and_a_new_version_is_fetched()
    {
        AzureBlobStore store = await Store();
        BlobVersion v1 = await store.UploadAsync("s.svs", Bytes(5000, 7));
        var cache = new SlideCache(store, Path.Combine(_folder, "c1"), maxBytes: 1 << 20);
        string[] paths = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => cache.GetAsync("s.svs", v1.ETag)));
        Assert.Single(paths.Distinct());
        Assert.Equal(1, cache.Downloads);
        Assert.Equal(paths[0], await cache.GetAsync("s.svs", v1.ETag));
        Assert.Equal(1, cache.Downloads);

        BlobVersion v2 = await store.UploadAsync("s.svs", Bytes(3000, 9));
        string newer = await cache.GetAsync("s.svs", v2.ETag);
        Assert.NotEqual(paths[0], newer);
        Assert.Equal(2, cache.Downloads);
        Assert.Equal(3000, new FileInfo(newer).Length);
        Assert.All(File.ReadAllBytes(newer), b => Assert.Equal(9, b));
    }

    [Fact]
    public async Task The_least_recently_used_slide_is_evicted_when_the_bound_is_passed()
    {
        AzureBlobStore store = await Store();
        BlobVersion a = await store.UploadAsync("a.svs", Bytes(1000, 1));
        BlobVersion b = await store.UploadAsync("b.svs", Bytes(1000, 2));
        BlobVersion c = await store.UploadAsync("c.svs", Bytes(1000, 3));
        var cache = new SlideCache(store, Path.Combine(_folder, "c2"), maxBytes: 2500);
        string pathA = await cache.GetAsync("a.svs", a.ETag);
        string pathB = await cache.GetAsync("b.svs", b.ETag);
        await cache.GetAsync("a.svs", a.ETag); // a is now more recent than b
        string pathC = await cache.GetAsync("c.svs", c.ETag);
        Assert.True(File.Exists(pathA));
        Assert.False(File.Exists(pathB));
        Assert.True(File.Exists(pathC));
        Assert.Equal(2000, cache.CachedBytes);
        await cache.GetAsync("b.svs", b.ETag);
        Assert.Equal(4, cache.Downloads);
    }

    [Fact]
    public async Task A_failed_download_is_tried_afresh_and_a_cached_slide_whose_file_is_gone_is_downloaded_again()
    {
        AzureBlobStore store = await Store();
        BlobVersion v = await store.UploadAsync("s.svs", Bytes(100, 1));
        string folder = Path.Combine(_folder, "c3");
        var cache = new SlideCache(new FailingFirstDownload(store), folder, maxBytes: 1 << 20);
        await Assert.ThrowsAsync<IOException>(() => cache.GetAsync("s.svs", v.ETag));
        Assert.Empty(Directory.EnumerateFiles(folder));

        string path = await cache.GetAsync("s.svs", v.ETag);
        File.Delete(path);
        Assert.Equal(path, await cache.GetAsync("s.svs", v.ETag));
        Assert.True(File.Exists(path));
        Assert.Equal(2, cache.Downloads);
    }

    // A store whose first download fails as a dropped connection would, after writing part of the file.
    private sealed class FailingFirstDownload(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        private int _downloads;

        public override async Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _downloads) == 1)
            {
                await File.WriteAllBytesAsync(path, new byte[10], cancellationToken);
                throw new IOException("the network dropped");
            }

            await Inner.DownloadAsync(name, etag, path, cancellationToken);
        }
    }
}
