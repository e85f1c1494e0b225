using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace DeepSlide.Pipeline.Storage;

/// <summary>The pipeline's blob store on one Azure Storage container (Azurite locally).</summary>
public sealed class AzureBlobStore(BlobContainerClient container) : IBlobStore
{
    // Set by Create: the container is made before the first write, not when the store is built, so a host's
    // dependency injection does no I/O.
    private Lazy<Task>? _creating;

    /// <summary>The store on <paramref name="container"/>, which is created before the first write when <paramref name="createIfMissing"/>.</summary>
    public static AzureBlobStore Create(BlobServiceClient service, string container, bool createIfMissing)
    {
        BlobContainerClient client = service.GetBlobContainerClient(container);
        return new AzureBlobStore(client) { _creating = createIfMissing ? new Lazy<Task>(() => client.CreateIfNotExistsAsync()) : null };
    }

    /// <summary>
    /// The store on <paramref name="container"/>, created first when <paramref name="createIfMissing"/> (local
    /// runs; in Azure the deployment creates containers, and a reader's identity may not create them).
    /// </summary>
    public static async Task<AzureBlobStore> CreateAsync(BlobServiceClient service, string container, bool createIfMissing = true, CancellationToken cancellationToken = default)
    {
        BlobContainerClient client = service.GetBlobContainerClient(container);
        if (createIfMissing)
        {
            await client.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        return new AzureBlobStore(client);
    }

    public BlobContainerClient Container => container;

    public async Task<BlobVersion?> GetVersionAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            BlobProperties properties = await container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken);
            return new BlobVersion(name, properties.ETag.ToString("H"), properties.ContentLength);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    public async Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default)
    {
        try
        {
            await container.GetBlobClient(name).DownloadToAsync(
                path,
                new BlobDownloadToOptions { Conditions = new BlobRequestConditions { IfMatch = new ETag(etag) } },
                cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            File.Delete(path);
            throw await GoneOrChangedAsync(name, etag, ex, cancellationToken);
        }
    }

    // Servers differ on whether a missing blob under If-Match is 404 or 412: ask which it is.
    private async Task<DeepSlideException> GoneOrChangedAsync(string name, string etag, RequestFailedException ex, CancellationToken cancellationToken)
    {
        bool exists = await GetVersionAsync(name, cancellationToken) is not null;
        return new DeepSlideException(
            exists ? DeepSlideErrorReason.InvalidArgument : DeepSlideErrorReason.FileNotFound,
            $"{container.Name}/{name}",
            exists ? $"the blob changed since version {etag}; the run must use the version it was started for." : "the blob does not exist.",
            ex);
    }

    public async Task<int> ReadRangeAsync(string name, string etag, long offset, Memory<byte> into, CancellationToken cancellationToken = default)
    {
        try
        {
            BlobDownloadStreamingResult result = await container.GetBlobClient(name).DownloadStreamingAsync(
                new BlobDownloadOptions { Range = new HttpRange(offset, into.Length), Conditions = new BlobRequestConditions { IfMatch = new ETag(etag) } },
                cancellationToken);
            await using Stream content = result.Content;
            return await content.ReadAtLeastAsync(into, into.Length, throwOnEndOfStream: false, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            throw await GoneOrChangedAsync(name, etag, ex, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 416)
        {
            return 0;
        }
    }

    public async Task<BlobVersion> UploadAsync(string name, Stream content, CancellationToken cancellationToken = default)
    {
        if (_creating is not null)
        {
            await _creating.Value.WaitAsync(cancellationToken);
        }

        BlobContentInfo info = await container.GetBlobClient(name).UploadAsync(content, overwrite: true, cancellationToken);
        BlobProperties properties = await container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken);
        return new BlobVersion(name, info.ETag.ToString("H"), properties.ContentLength);
    }
}
