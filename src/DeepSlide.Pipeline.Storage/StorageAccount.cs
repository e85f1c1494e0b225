using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace DeepSlide.Pipeline.Storage;

/// <summary>
/// How a process reaches its storage account: a connection string (Azurite, local runs) or service URIs with the
/// process's Entra identity (Azure, where shared keys are off). Only local runs create containers and queues; in
/// Azure the deployment does, and each identity holds just the data roles it needs.
/// </summary>
public sealed record StorageAccount(string? ConnectionString, Uri? BlobServiceUri = null, Uri? QueueServiceUri = null, TokenCredential? Credential = null)
{
    public bool CreatesResources => ConnectionString is not null;

    public static StorageAccount FromSettings(string? connectionString, string? blobServiceUri, string? queueServiceUri, string? managedIdentityClientId = null)
    {
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new StorageAccount(connectionString);
        }

        if (string.IsNullOrWhiteSpace(blobServiceUri) || string.IsNullOrWhiteSpace(queueServiceUri))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, "storage needs either a connection string or both a blob and a queue service URI.");
        }

        TokenCredential credential = string.IsNullOrWhiteSpace(managedIdentityClientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(managedIdentityClientId));
        return new StorageAccount(null, new Uri(blobServiceUri), new Uri(queueServiceUri), credential);
    }

    public BlobServiceClient Blobs() => ConnectionString is not null ? new BlobServiceClient(ConnectionString) : new BlobServiceClient(BlobServiceUri, Credential);

    /// <summary>Queue clients that Base64-encode, as the Functions queue trigger expects.</summary>
    public QueueServiceClient Queues()
    {
        var options = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        return ConnectionString is not null ? new QueueServiceClient(ConnectionString, options) : new QueueServiceClient(QueueServiceUri, Credential, options);
    }

    /// <summary>The three containers' stores, built without I/O (containers are created before their first write when <see cref="CreatesResources"/>).</summary>
    public PipelineStores Stores()
    {
        BlobServiceClient blobs = Blobs();
        return new PipelineStores(
            AzureBlobStore.Create(blobs, PipelineNames.SlidesContainer, CreatesResources),
            AzureBlobStore.Create(blobs, PipelineNames.ResultsContainer, CreatesResources),
            AzureBlobStore.Create(blobs, PipelineNames.ModelsContainer, CreatesResources));
    }

    public async Task<PipelineStores> StoresAsync(CancellationToken cancellationToken = default)
    {
        BlobServiceClient blobs = Blobs();
        return new PipelineStores(
            await AzureBlobStore.CreateAsync(blobs, PipelineNames.SlidesContainer, CreatesResources, cancellationToken),
            await AzureBlobStore.CreateAsync(blobs, PipelineNames.ResultsContainer, CreatesResources, cancellationToken),
            await AzureBlobStore.CreateAsync(blobs, PipelineNames.ModelsContainer, CreatesResources, cancellationToken));
    }
}
