using DeepSlide.Inference;
using DeepSlide.Pipeline.Slides;
using DeepSlide.Pipeline.Storage;
using DeepSlide.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DeepSlide.Pipeline.Work;

/// <summary>
/// A worker's services, the same in the worker container and in <c>deepslide local up</c>: the pipeline's clients
/// (<see cref="PipelineClientsExtensions.AddPipelineClients"/>: storage, and Service Bus when configured, else a
/// Storage queue), the caches, the completion sink, the handlers and the work loop, run as a hosted service.
/// </summary>
public static class WorkServices
{
    /// <summary>The worker's settings bound from the "Worker" section and validated as the host starts, not when first used.</summary>
    public static IServiceCollection AddWork(this IServiceCollection services)
    {
        services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.Section).ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<WorkerOptions>>().Value);
        return services.AddWorkServices();
    }

    /// <summary>The worker's settings given in code (the local stack, tests), validated as the host starts too.</summary>
    public static IServiceCollection AddWork(this IServiceCollection services, WorkerOptions options)
    {
        services.AddSingleton(options);
        return services.AddWorkServices();
    }

    private static IServiceCollection AddWorkServices(this IServiceCollection services)
    {
        services.AddPipelineClients().Configure<WorkerOptions>((c, o) =>
        {
            c.StorageConnection = o.StorageConnection;
            c.StorageBlobServiceUri = o.StorageBlobServiceUri;
            c.StorageQueueServiceUri = o.StorageQueueServiceUri;
            c.ServiceBusConnection = o.ServiceBusConnection;
            c.ServiceBusNamespace = o.ServiceBusNamespace;
            c.RangeQueue = new WorkQueueOptions { QueueName = o.RangeQueue, MaxDeliveryCount = o.MaxDeliveryCount, LockDuration = o.LockDuration };
            c.StorageSettings = $"{WorkerOptions.Section}:{nameof(o.StorageConnection)}, or {WorkerOptions.Section}:{nameof(o.StorageBlobServiceUri)} and {nameof(o.StorageQueueServiceUri)},";
        });

        // The slide cache's share of the disk is split between whole downloads (formats that cannot be mapped) and
        // the sparse files of ranged reads.
        services.AddSingleton(sp => With(sp, o => new SlideCache(sp.GetRequiredService<PipelineStores>().Slides, Path.Combine(o.CacheFolder, "slides"), o.SlideCacheBytes / 2)));
        services.AddSingleton(sp => With(sp, o => new ModelCache(
            sp.GetRequiredService<PipelineStores>().Models,
            Path.Combine(o.CacheFolder, "models"),
            new InferenceOptions { BatchSize = o.BatchSize, Device = o.Device, Threads = o.Threads },
            sp.GetRequiredService<ILogger<ModelCache>>())));
        services.AddSingleton<IWorkCompletionSink>(sp =>
        {
            StorageAccount storage = sp.GetRequiredService<StorageAccount>();
            return StorageQueueCompletionSink.Create(storage.Queues(), sp.GetRequiredService<WorkerOptions>().CompletionQueue, storage.CreatesResources);
        });
        services.AddSingleton(sp => With(sp, o => new SparseSlides(sp.GetRequiredService<PipelineStores>().Slides, sp.GetRequiredService<SlideCache>(), Path.Combine(o.CacheFolder, "sparse"), o.SlideCacheBytes / 2)));
        services.AddSingleton(sp => new WorkHandlers(
            sp.GetRequiredService<PipelineStores>(),
            sp.GetRequiredService<SparseSlides>(),
            sp.GetRequiredService<ModelCache>(),
            Path.Combine(sp.GetRequiredService<WorkerOptions>().CacheFolder, "scratch"))
        { Progressed = sp.GetRequiredService<WorkerHealth>().Beat });
        services.AddSingleton(sp => new WorkerHealth(sp.GetRequiredService<WorkerOptions>().LockDuration));
        services.AddSingleton(sp => With(sp, o => new WorkLoop(
            sp.GetRequiredService<IWorkTransport>(),
            sp.GetRequiredService<WorkHandlers>(),
            sp.GetRequiredService<IWorkCompletionSink>(),
            sp.GetRequiredService<ILogger<WorkLoop>>(),
            o.LockDuration,
            sp.GetRequiredService<WorkerHealth>(),
            o.MaxDeliveryCount)));
        services.AddHostedService<WorkLoopService>();
        services.AddHealthChecks().AddCheck<WorkLoopHealthCheck>("work-loop");
        return services;
    }

    private static T With<T>(IServiceProvider services, Func<WorkerOptions, T> make) => make(services.GetRequiredService<WorkerOptions>());
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
