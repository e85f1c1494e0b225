using DeepSlide.Pipeline.Slides;
using Azure.Core;
using Azure.Messaging.ServiceBus;
using DeepSlide.Inference;
using DeepSlide.Pipeline.ServiceBus;
using DeepSlide.Pipeline.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Pipeline.Work;

/// <summary>
/// A worker's services, the same in the worker container and in <c>deepslide local up</c>: one credential, one
/// storage account's clients, the caches, the transport (Service Bus when configured, else a Storage queue), the
/// completion sink, the handlers and the work loop, run as a hosted service.
/// </summary>
public static class WorkServices
{
    public static IServiceCollection AddWork(this IServiceCollection services, WorkerOptions options)
    {
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton<TokenCredential>(_ => Credentials.For(options.ManagedIdentityClientId));
        services.AddSingleton(sp => StorageAccount.FromSettings(
            options.StorageConnection,
            options.StorageBlobServiceUri,
            options.StorageQueueServiceUri,
            credential: string.IsNullOrWhiteSpace(options.StorageConnection) ? sp.GetRequiredService<TokenCredential>() : null));
        services.AddSingleton(sp => sp.GetRequiredService<StorageAccount>().Stores());
        // The slide cache's share of the disk is split between whole downloads (formats that cannot be mapped) and
        // the sparse files of ranged reads.
        services.AddSingleton(sp => new SlideCache(sp.GetRequiredService<PipelineStores>().Slides, Path.Combine(options.CacheFolder, "slides"), options.SlideCacheBytes / 2));
        services.AddSingleton(sp => new ModelCache(
            sp.GetRequiredService<PipelineStores>().Models,
            Path.Combine(options.CacheFolder, "models"),
            new InferenceOptions { BatchSize = options.BatchSize, Device = options.Device, Threads = options.Threads },
            sp.GetRequiredService<ILogger<ModelCache>>()));
        services.AddSingleton<IWorkTransport>(sp =>
        {
            StorageAccount storage = sp.GetRequiredService<StorageAccount>();
            var queue = new WorkQueueOptions { QueueName = options.RangeQueue, MaxDeliveryCount = options.MaxDeliveryCount, LockDuration = options.LockDuration };
            if (!string.IsNullOrWhiteSpace(options.ServiceBusConnection))
            {
                return new ServiceBusTransport(new ServiceBusClient(options.ServiceBusConnection), queue, ownsClient: true);
            }

            if (!string.IsNullOrWhiteSpace(options.ServiceBusNamespace))
            {
                return new ServiceBusTransport(new ServiceBusClient(options.ServiceBusNamespace, sp.GetRequiredService<TokenCredential>()), queue, ownsClient: true);
            }

            return StorageQueueTransport.Create(storage.Queues(), queue, storage.CreatesResources);
        });
        services.AddSingleton<IWorkCompletionSink>(sp =>
        {
            StorageAccount storage = sp.GetRequiredService<StorageAccount>();
            return StorageQueueCompletionSink.Create(storage.Queues(), options.CompletionQueue, storage.CreatesResources);
        });
        services.AddSingleton(sp => new SparseSlides(
            sp.GetRequiredService<PipelineStores>().Slides,
            sp.GetRequiredService<SlideCache>(),
            Path.Combine(options.CacheFolder, "sparse"),
            options.SlideCacheBytes / 2));
        services.AddSingleton(sp => new WorkHandlers(
            sp.GetRequiredService<PipelineStores>(),
            sp.GetRequiredService<SparseSlides>(),
            sp.GetRequiredService<ModelCache>(),
            Path.Combine(options.CacheFolder, "scratch"))
        { Progressed = sp.GetRequiredService<WorkerHealth>().Beat });
        services.AddSingleton(_ => new WorkerHealth(options.LockDuration));
        services.AddSingleton(sp => new WorkLoop(
            sp.GetRequiredService<IWorkTransport>(),
            sp.GetRequiredService<WorkHandlers>(),
            sp.GetRequiredService<IWorkCompletionSink>(),
            sp.GetRequiredService<ILogger<WorkLoop>>(),
            options.LockDuration,
            sp.GetRequiredService<WorkerHealth>(),
            options.MaxDeliveryCount));
        services.AddHostedService<WorkLoopService>();
        return services;
    }
}

/// <summary>Runs the work loop for the life of the host.</summary>
internal sealed class WorkLoopService(WorkLoop loop) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await loop.RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
