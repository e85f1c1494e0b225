using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace DeepSlide.Pipeline.Storage;

/// <summary>
/// How a process reaches its storage account: a connection string (Azurite, local runs) or service URIs with the
/// process's Entra identity (Azure, where shared keys are off). Only local runs create containers and queues; in
/// Azure the deployment does, and each identity holds just the data roles it needs. The service clients are made
/// once and shared: the SDK's clients are thread-safe and meant to live as long as the process.
/// </summary>
public sealed class StorageAccount
{
    private readonly Lazy<BlobServiceClient> _blobs;
    private readonly Lazy<QueueServiceClient> _queues;

    public StorageAccount(string? connectionString, Uri? blobServiceUri = null, Uri? queueServiceUri = null, TokenCredential? credential = null)
    {
        ConnectionString = connectionString;
        Credential = credential;
        _blobs = new(() => connectionString is not null ? new BlobServiceClient(connectionString) : new BlobServiceClient(blobServiceUri, credential));
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };
        _queues = new(() => connectionString is not null ? new QueueServiceClient(connectionString, queueOptions)
            : queueServiceUri is not null ? new QueueServiceClient(queueServiceUri, credential, queueOptions)
            : throw new InvalidOperationException("this storage account was given no queue service URI."));
    }

    public string? ConnectionString { get; }

    /// <summary>The identity the account is reached with; null with a connection string.</summary>
    public TokenCredential? Credential { get; }

    public bool CreatesResources => ConnectionString is not null;

    /// <summary>
    /// The account from a process's settings. With service URIs, <paramref name="credential"/> is the process's one
    /// credential; without it, a user-assigned identity's client id or else the default chain picks one. A process
    /// that uses no queue (the viewer) leaves the queue service URI empty.
    /// </summary>
    public static StorageAccount FromSettings(string? connectionString, string? blobServiceUri, string? queueServiceUri, string? managedIdentityClientId = null, TokenCredential? credential = null)
    {
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new StorageAccount(connectionString);
        }

        if (string.IsNullOrWhiteSpace(blobServiceUri))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, "storage needs either a connection string or a blob service URI.");
        }

        Uri? queues = string.IsNullOrWhiteSpace(queueServiceUri) ? null : new Uri(queueServiceUri);
        return new StorageAccount(null, new Uri(blobServiceUri), queues, credential ?? Credentials.For(managedIdentityClientId));
    }

    public BlobServiceClient Blobs() => _blobs.Value;

    /// <summary>Queue clients that Base64-encode, as the Functions queue trigger expects.</summary>
    public QueueServiceClient Queues() => _queues.Value;

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

/// <summary>The one Entra credential a process uses for every Azure client.</summary>
public static class Credentials
{
    /// <summary>A user-assigned managed identity by client id, or the default chain when none is named.</summary>
    public static TokenCredential For(string? managedIdentityClientId) =>
        string.IsNullOrWhiteSpace(managedIdentityClientId)
            ? new DefaultAzureCredential()
            : new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(managedIdentityClientId));
}
