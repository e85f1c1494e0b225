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
