using Azure.Identity;
using Azure.Messaging.ServiceBus;
using DeepSlide.Inference;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.ServiceBus;
using DeepSlide.Pipeline.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepSlide.Worker.Extensions;

public static class Extensions
{
    /// <summary>The worker's services: blob stores, caches, transport, completion sink and the range loop.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.StorageConnection) || !string.IsNullOrWhiteSpace(o.StorageBlobServiceUri), "Worker:StorageConnection or Worker:StorageBlobServiceUri is required.")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            return StorageAccount.FromSettings(o.StorageConnection, o.StorageBlobServiceUri, o.StorageQueueServiceUri, o.ManagedIdentityClientId);
        });
        builder.Services.AddSingleton(sp => sp.GetRequiredService<StorageAccount>().Stores());
        builder.Services.AddSingleton(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            return new SlideCache(sp.GetRequiredService<PipelineStores>().Slides, Path.Combine(o.CacheFolder, "slides"), o.SlideCacheBytes);
        });
        builder.Services.AddSingleton(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            return new ModelCache(sp.GetRequiredService<PipelineStores>().Models, Path.Combine(o.CacheFolder, "models"), new InferenceOptions { BatchSize = o.BatchSize, Device = o.Device, Threads = o.Threads }, sp.GetRequiredService<ILogger<ModelCache>>());
        });
        builder.Services.AddSingleton<ITileRangeTransport>(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            StorageAccount storage = sp.GetRequiredService<StorageAccount>();
            var queue = new TileRangeQueueOptions { QueueName = o.RangeQueue, MaxDeliveryCount = o.MaxDeliveryCount, LockDuration = o.LockDuration };
            if (!string.IsNullOrWhiteSpace(o.ServiceBusConnection))
            {
                return new ServiceBusTransport(new ServiceBusClient(o.ServiceBusConnection), queue);
            }

            if (!string.IsNullOrWhiteSpace(o.ServiceBusNamespace))
            {
                return new ServiceBusTransport(new ServiceBusClient(o.ServiceBusNamespace, storage.Credential ?? new DefaultAzureCredential()), queue);
            }

            return StorageQueueTransport.Create(storage.Queues(), queue, storage.CreatesResources);
        });
        builder.Services.AddSingleton<IRangeCompletionSink>(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            StorageAccount storage = sp.GetRequiredService<StorageAccount>();
            return StorageQueueCompletionSink.Create(storage.Queues(), o.CompletionQueue, storage.CreatesResources);
        });
        builder.Services.AddSingleton(sp => new RangeProcessor(
            sp.GetRequiredService<PipelineStores>(),
            sp.GetRequiredService<SlideCache>(),
            sp.GetRequiredService<ModelCache>(),
            Path.Combine(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.CacheFolder, "scratch")));
        builder.Services.AddSingleton(sp => new WorkerHealth(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.LockDuration));
        builder.Services.AddSingleton(sp => new RangeWorker(
            sp.GetRequiredService<ITileRangeTransport>(),
            sp.GetRequiredService<RangeProcessor>(),
            sp.GetRequiredService<IRangeCompletionSink>(),
            sp.GetRequiredService<ILogger<RangeWorker>>(),
            sp.GetRequiredService<IOptions<WorkerOptions>>().Value.LockDuration,
            sp.GetRequiredService<WorkerHealth>(),
            sp.GetRequiredService<IOptions<WorkerOptions>>().Value.MaxDeliveryCount));
        if (builder.Configuration.GetValue<int>($"{WorkerOptions.Section}:{nameof(WorkerOptions.HealthPort)}") is int port and > 0)
        {
            builder.Services.AddHostedService(sp => new HealthEndpointService(sp.GetRequiredService<WorkerHealth>(), port, sp.GetRequiredService<ILogger<HealthEndpointService>>()));
        }
        builder.Services.AddHostedService<RangeWorkerService>();
        return builder;
    }
}

/// <summary>Runs the range loop for the life of the host.</summary>
internal sealed class RangeWorkerService(RangeWorker worker) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await worker.RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
