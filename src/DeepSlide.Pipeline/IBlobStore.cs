namespace DeepSlide.Pipeline;

/// <summary>A blob's identity: its name, its ETag (which changes with every write) and its size.</summary>
public sealed record BlobVersion(string Name, string ETag, long Length);

/// <summary>The blob storage the pipeline reads slides and models from and writes results to.</summary>
public interface IBlobStore
{
    /// <summary>The blob's current version, or null when it does not exist.</summary>
    Task<BlobVersion?> GetVersionAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Downloads the blob to <paramref name="path"/>, failing with <see cref="DeepSlideErrorReason.FileNotFound"/> when
    /// it is gone and with a stale-version error when its ETag is no longer <paramref name="etag"/>.
    /// </summary>
    Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default);

    /// <summary>Writes the blob whole, replacing any previous content, and returns its new version.</summary>
    Task<BlobVersion> UploadAsync(string name, Stream content, CancellationToken cancellationToken = default);
}

/// <summary>The pipeline's three containers: slides as labs upload them, model bundles, and every run's outputs.</summary>
public sealed record PipelineStores(IBlobStore Slides, IBlobStore Results, IBlobStore Models)
{
    /// <summary>Reads a small blob (a plan, a manifest) whole, or fails naming it when it is not stored.</summary>
    public static async Task<string> ReadTextAsync(IBlobStore store, string blob, string scratch, CancellationToken cancellationToken = default)
    {
        BlobVersion version = await store.GetVersionAsync(blob, cancellationToken)
            ?? throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, blob, "the blob is not stored.");
        Directory.CreateDirectory(scratch);
        string local = Path.Combine(scratch, $"{Guid.NewGuid():N}.txt");
        try
        {
            await store.DownloadAsync(blob, version.ETag, local, cancellationToken);
            return await File.ReadAllTextAsync(local, cancellationToken);
        }
        finally
        {
            File.Delete(local);
        }
    }

    /// <summary>Uploads a local file whole to <paramref name="blob"/>.</summary>
    public static async Task<BlobVersion> UploadFileAsync(IBlobStore store, string blob, string path, CancellationToken cancellationToken = default)
    {
        await using FileStream stream = File.OpenRead(path);
        return await store.UploadAsync(blob, stream, cancellationToken);
    }
}
