using Azure.Core;
using Azure.Messaging.ServiceBus;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.ServiceBus;
using DeepSlide.Pipeline.Storage;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DeepSlide.ServiceDefaults;

/// <summary>
/// Where a host's pipeline services are: options each host fills from its own settings (the worker's
/// <c>Worker__*</c>, the Functions app's identity-based connections, the local stack's emulators), validated as the
/// host starts. The clients are then made the same way everywhere.
/// </summary>
public sealed class PipelineConnections
{
    /// <summary>Azure Storage by connection string (Azurite); in Azure leave it empty and set the service URIs.</summary>
    public string? StorageConnection { get; set; }

    public string? StorageBlobServiceUri { get; set; }

    public string? StorageQueueServiceUri { get; set; }

    /// <summary>Service Bus by connection string (its emulator). Without it and without a namespace, ranges go through a Storage queue.</summary>
    public string? ServiceBusConnection { get; set; }

    /// <summary>Identity-based Service Bus: <c>{namespace}.servicebus.windows.net</c>.</summary>
    public string? ServiceBusNamespace { get; set; }

    public string? CosmosEndpoint { get; set; }

    /// <summary>cosmosdb-server's key on one machine, where the database and container are made at start; in Azure leave it empty.</summary>
    public string? CosmosKey { get; set; }

    public string Database { get; set; } = PipelineNames.Database;

    public string RunsContainer { get; set; } = PipelineNames.RunsContainer;

    /// <summary>The tile-range queue, whichever transport carries it.</summary>
    public WorkQueueOptions RangeQueue { get; set; } = new();

    /// <summary>Whether the host sends or takes queue messages, so that a missing queue service URI fails it at start.</summary>
    public bool QueuesRequired { get; set; } = true;

    /// <summary>Whether the host reads or writes runs, so that a missing Cosmos endpoint fails it at start.</summary>
    public bool RunsRequired { get; set; }

    /// <summary>The host's own names for the storage settings, for the error that says one is missing.</summary>
    public string StorageSettings { get; set; } = "a storage connection string, or a blob and a queue service URI";

    /// <summary>The host's own name for the Cosmos endpoint setting.</summary>
    public string CosmosSetting { get; set; } = nameof(CosmosEndpoint);
}

public static class PipelineClientsExtensions
{
    /// <summary>
    /// The storage account and its stores, the tile-range transport (Service Bus by connection or namespace, else a
    /// Storage queue) and the run store in Cosmos DB, made once from <see cref="PipelineConnections"/> with the
    /// process's credential; the host configures the options this returns. Nothing connects until a client is first
    /// used. On one machine (a connection string, a Cosmos key) the containers and the database are made as the host
    /// starts.
    /// </summary>
    public static OptionsBuilder<PipelineConnections> AddPipelineClients(this IServiceCollection services)
    {
        services.TryAddSingleton<TokenCredential>(_ => Credentials.For(null));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineConnections>, PipelineConnectionsValidator>());
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<PipelineConnections>>().Value);
        services.TryAddSingleton(sp =>
        {
            PipelineConnections c = sp.GetRequiredService<PipelineConnections>();
            bool byIdentity = string.IsNullOrWhiteSpace(c.StorageConnection);
            return StorageAccount.FromSettings(c.StorageConnection, c.StorageBlobServiceUri, c.StorageQueueServiceUri, credential: byIdentity ? sp.GetRequiredService<TokenCredential>() : null);
        });
        services.TryAddSingleton(sp => sp.GetRequiredService<StorageAccount>().Stores());
        services.TryAddSingleton<IWorkTransport>(sp =>
        {
            PipelineConnections c = sp.GetRequiredService<PipelineConnections>();
            if (!string.IsNullOrWhiteSpace(c.ServiceBusConnection))
            {
                return new ServiceBusTransport(new ServiceBusClient(c.ServiceBusConnection), c.RangeQueue, ownsClient: true);
            }

            if (!string.IsNullOrWhiteSpace(c.ServiceBusNamespace))
            {
                return new ServiceBusTransport(new ServiceBusClient(c.ServiceBusNamespace, sp.GetRequiredService<TokenCredential>()), c.RangeQueue, ownsClient: true);
            }

            StorageAccount storage = sp.GetRequiredService<StorageAccount>();
            return StorageQueueTransport.Create(storage.Queues(), c.RangeQueue, storage.CreatesResources);
        });
        services.TryAddSingleton(sp =>
        {
            PipelineConnections c = sp.GetRequiredService<PipelineConnections>();
            if (string.IsNullOrWhiteSpace(c.CosmosEndpoint))
            {
                throw new InvalidOperationException($"{c.CosmosSetting} is not set.");
            }

            return string.IsNullOrEmpty(c.CosmosKey)
                ? new CosmosClient(c.CosmosEndpoint, sp.GetRequiredService<TokenCredential>(), CosmosSlideRunStore.ClientOptions())
                : new CosmosClient(c.CosmosEndpoint, c.CosmosKey, CosmosSlideRunStore.ClientOptions(acceptLoopbackCertificate: true));
        });
        services.TryAddSingleton(sp =>
        {
            PipelineConnections c = sp.GetRequiredService<PipelineConnections>();
            return new CosmosSlideRunStore(sp.GetRequiredService<CosmosClient>().GetContainer(c.Database, c.RunsContainer));
        });
        services.TryAddSingleton<ISlideRunStore>(sp => sp.GetRequiredService<CosmosSlideRunStore>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LocalResourcesCreator>());
        return services.AddOptions<PipelineConnections>().ValidateOnStart();
    }

    private sealed class PipelineConnectionsValidator : IValidateOptions<PipelineConnections>
    {
        public ValidateOptionsResult Validate(string? name, PipelineConnections c)
        {
            var problems = new List<string>();
            if (string.IsNullOrWhiteSpace(c.StorageConnection) && (string.IsNullOrWhiteSpace(c.StorageBlobServiceUri) || (c.QueuesRequired && string.IsNullOrWhiteSpace(c.StorageQueueServiceUri))))
            {
                problems.Add($"storage is not set: {c.StorageSettings} is required.");
            }

            foreach ((string? uri, string what) in new[] { (c.StorageBlobServiceUri, "blob"), (c.StorageQueueServiceUri, "queue") })
            {
                if (string.IsNullOrWhiteSpace(c.StorageConnection) && !string.IsNullOrWhiteSpace(uri) && !Uri.TryCreate(uri, UriKind.Absolute, out _))
                {
                    problems.Add($"the storage {what} service URI '{uri}' is not an absolute URI.");
                }
            }

            if (c.RunsRequired && string.IsNullOrWhiteSpace(c.CosmosEndpoint))
            {
                problems.Add($"{c.CosmosSetting} is not set.");
            }

            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }

    /// <summary>
    /// On one machine (a storage connection string, a Cosmos key), makes the three containers and the run store's
    /// database and container before the host's later services start, so that a watcher or a reader never meets a
    /// missing one (queues are made on first use). In Azure the deployment makes them all, and each identity holds
    /// only data roles.
    /// </summary>
    private sealed class LocalResourcesCreator(PipelineConnections connections, IServiceProvider services) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            StorageAccount storage = services.GetRequiredService<StorageAccount>();
            if (storage.CreatesResources)
            {
                await storage.StoresAsync(cancellationToken);
            }

            if (!string.IsNullOrEmpty(connections.CosmosKey) && !string.IsNullOrWhiteSpace(connections.CosmosEndpoint))
            {
                await CosmosSlideRunStore.CreateAsync(services.GetRequiredService<CosmosClient>(), connections.Database, connections.RunsContainer, cancellationToken);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
