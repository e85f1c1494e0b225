using Azure.Messaging.ServiceBus;
using Azure.Storage.Blobs;
using DeepSlide.Inference;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.ServiceBus;
using DeepSlide.Pipeline.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DeepSlide.Worker.Extensions;

public static class Extensions
{
    /// <summary>The worker's services: blob store, caches, transport, completion sink and the range loop.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.Section)
            .Validate(o => !string.IsNullOrWhiteSpace(o.StorageConnection), "Worker:StorageConnection is required.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IBlobStore>(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            return AzureBlobStore.CreateAsync(new BlobServiceClient(o.StorageConnection), o.Container).GetAwaiter().GetResult();
        });
        builder.Services.AddSingleton(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            return new SlideCache(sp.GetRequiredService<IBlobStore>(), Path.Combine(o.CacheFolder, "slides"), o.SlideCacheBytes);
        });
        builder.Services.AddSingleton(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            return new ModelCache(sp.GetRequiredService<IBlobStore>(), Path.Combine(o.CacheFolder, "models"), new InferenceOptions { BatchSize = o.BatchSize, Device = o.Device });
        });
        builder.Services.AddSingleton<ITileRangeTransport>(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            var queue = new TileRangeQueueOptions { QueueName = o.RangeQueue, MaxDeliveryCount = o.MaxDeliveryCount, LockDuration = o.LockDuration };
            return string.IsNullOrWhiteSpace(o.ServiceBusConnection)
                ? StorageQueueTransport.CreateAsync(StorageQueueTransport.ServiceClient(o.StorageConnection), queue).GetAwaiter().GetResult()
                : new ServiceBusTransport(new ServiceBusClient(o.ServiceBusConnection), queue);
        });
        builder.Services.AddSingleton<IRangeCompletionSink>(sp =>
        {
            WorkerOptions o = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
            return StorageQueueCompletionSink.CreateAsync(StorageQueueTransport.ServiceClient(o.StorageConnection), o.CompletionQueue).GetAwaiter().GetResult();
        });
        builder.Services.AddSingleton(sp => new RangeProcessor(
            sp.GetRequiredService<IBlobStore>(),
            sp.GetRequiredService<SlideCache>(),
            sp.GetRequiredService<ModelCache>(),
            Path.Combine(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.CacheFolder, "scratch")));
        builder.Services.AddSingleton(sp => new RangeWorker(sp.GetRequiredService<ITileRangeTransport>(), sp.GetRequiredService<RangeProcessor>(), sp.GetRequiredService<IRangeCompletionSink>()));
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
