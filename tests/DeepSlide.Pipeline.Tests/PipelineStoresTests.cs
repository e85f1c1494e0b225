using DeepSlide.Pipeline.Storage;

namespace DeepSlide.Pipeline.Tests;

/// <summary>Reading a run's outputs while a late duplicate of the work that wrote them writes them again.</summary>
public sealed class PipelineStoresTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-stores-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task An_output_rewritten_between_its_version_and_its_bytes_is_read_again_not_failed()
    {
        PipelineStores stores = await new StorageAccount(azurite.ConnectionString).StoresAsync();
        string blob = $"runs/{Guid.NewGuid():N}/ranges/00003.parquet";
        await using (var content = new MemoryStream("range 3"u8.ToArray()))
        {
            await stores.Results.UploadAsync(blob, content);
        }

        var racing = new RewrittenOnFirstDownload(stores.Results);
        string local = Path.Combine(_folder, "range.parquet");
        BlobVersion read = await PipelineStores.DownloadCurrentAsync(racing, blob, local);
        Assert.Equal(1, racing.Rewrites);
        Assert.Equal("range 3", await File.ReadAllTextAsync(local));
        Assert.Equal((await stores.Results.GetVersionAsync(blob))!.ETag, read.ETag);
    }

    [Fact]
    public async Task A_missing_output_still_fails_naming_it()
    {
        PipelineStores stores = await new StorageAccount(azurite.ConnectionString).StoresAsync();
        var ex = await Assert.ThrowsAsync<DeepSlideException>(() => PipelineStores.DownloadCurrentAsync(stores.Results, "runs/none/plan.json", Path.Combine(_folder, "x"), "the plan is not stored."));
        Assert.Equal(DeepSlideErrorReason.FileNotFound, ex.Reason);
        Assert.Contains("runs/none/plan.json", ex.Message);
    }

    // A late duplicate that writes the same output again just after the reader took its version.
    private sealed class RewrittenOnFirstDownload(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        private int _downloads;

        public int Rewrites { get; private set; }

        public override async Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default)
        {
            if (_downloads++ == 0)
            {
                Rewrites++;
                await using var same = new MemoryStream("range 3"u8.ToArray());
                await Inner.UploadAsync(name, same, cancellationToken);
            }

            await Inner.DownloadAsync(name, etag, path, cancellationToken);
        }
    }
}
