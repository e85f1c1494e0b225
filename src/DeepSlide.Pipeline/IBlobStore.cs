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

    /// <summary>
    /// Reads <paramref name="into"/>.Length bytes of the blob from <paramref name="offset"/> (fewer at its end, the
    /// count returned), failing as <see cref="DownloadAsync"/> does when it is gone or no longer <paramref name="etag"/>.
    /// </summary>
    Task<int> ReadRangeAsync(string name, string etag, long offset, Memory<byte> into, CancellationToken cancellationToken = default);

    /// <summary>Writes the blob whole, replacing any previous content, and returns its new version.</summary>
    Task<BlobVersion> UploadAsync(string name, Stream content, CancellationToken cancellationToken = default);
}

/// <summary>The pipeline's three containers: slides as labs upload them, model bundles, and every run's outputs.</summary>
public sealed record PipelineStores(IBlobStore Slides, IBlobStore Results, IBlobStore Models)
{
    /// <summary>
    /// Downloads the blob's current version to <paramref name="path"/> and returns that version, or fails naming the
    /// blob (with <paramref name="reason"/> and <paramref name="problem"/>) when it is not stored. A blob rewritten
    /// while it is read is read again: outputs are deterministic, so a late duplicate's rewrite is the same content.
    /// </summary>
    public static async Task<BlobVersion> DownloadCurrentAsync(
        IBlobStore store,
        string blob,
        string path,
        string problem = "the blob is not stored.",
        DeepSlideErrorReason reason = DeepSlideErrorReason.FileNotFound,
        CancellationToken cancellationToken = default)
    {
        for (int attempt = 1; ; attempt++)
        {
            BlobVersion version = await store.GetVersionAsync(blob, cancellationToken) ?? throw new DeepSlideException(reason, blob, problem);
            try
            {
                await store.DownloadAsync(blob, version.ETag, path, cancellationToken);
                return version;
            }
            catch (DeepSlideException ex) when (ex.Reason == DeepSlideErrorReason.InvalidArgument && attempt < 5)
            {
                // Rewritten between the two reads: a redelivered piece of work writes its (identical) output again,
                // or a newer bundle replaced a model file. The current version is the one asked for, so read it again.
            }
        }
    }

    /// <summary>Reads a small blob (a plan, a manifest) whole, with the version read, or fails naming it when it is not stored.</summary>
    public static async Task<(string Text, BlobVersion Version)> ReadTextAsync(
        IBlobStore store,
        string blob,
        string scratch,
        string problem = "the blob is not stored.",
        DeepSlideErrorReason reason = DeepSlideErrorReason.FileNotFound,
        CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(scratch);
        string local = Path.Combine(scratch, $"{Guid.NewGuid():N}.txt");
        try
        {
            BlobVersion version = await DownloadCurrentAsync(store, blob, local, problem, reason, cancellationToken);
            return (await File.ReadAllTextAsync(local, cancellationToken), version);
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
