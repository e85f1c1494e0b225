namespace DeepSlide.Pipeline.Tests;

/// <summary>A blob store that passes every call on; test doubles override the one call they break or watch.</summary>
internal abstract class DelegatingBlobStore(IBlobStore inner) : IBlobStore
{
    protected IBlobStore Inner { get; } = inner;

    public virtual Task<BlobVersion?> GetVersionAsync(string name, CancellationToken cancellationToken = default) => Inner.GetVersionAsync(name, cancellationToken);

    public virtual Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default) => Inner.DownloadAsync(name, etag, path, cancellationToken);

    public virtual Task<int> ReadRangeAsync(string name, string etag, long offset, Memory<byte> into, CancellationToken cancellationToken = default) => Inner.ReadRangeAsync(name, etag, offset, into, cancellationToken);

    public virtual Task<BlobVersion> UploadAsync(string name, Stream content, CancellationToken cancellationToken = default) => Inner.UploadAsync(name, content, cancellationToken);
}
