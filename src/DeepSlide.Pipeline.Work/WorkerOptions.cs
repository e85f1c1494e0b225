using DeepSlide.Inference;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DeepSlide.Pipeline.Work;

/// <summary>The worker's settings, bound from the "Worker" configuration section (Worker__* environment variables).</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>Azure Storage by connection string (Azurite locally). In Azure leave it empty and set the service URIs.</summary>
    public string? StorageConnection { get; set; }

    /// <summary>Identity-based storage: <c>https://{account}.blob.core.windows.net</c>.</summary>
    public string? StorageBlobServiceUri { get; set; }

    /// <summary>Identity-based storage: <c>https://{account}.queue.core.windows.net</c>.</summary>
    public string? StorageQueueServiceUri { get; set; }

    /// <summary>Service Bus by connection string (the emulator). Without it and without a namespace, ranges come from a Storage queue.</summary>
    public string? ServiceBusConnection { get; set; }

    /// <summary>Identity-based Service Bus: <c>{namespace}.servicebus.windows.net</c>.</summary>
    public string? ServiceBusNamespace { get; set; }

    /// <summary>The client id of a user-assigned identity; empty for the system-assigned one.</summary>
    public string? ManagedIdentityClientId { get; set; }

    public string RangeQueue { get; set; } = PipelineNames.RangeQueue;

    public string CompletionQueue { get; set; } = PipelineNames.CompletionQueue;

    public int MaxDeliveryCount { get; set; } = 5;

    public TimeSpan LockDuration { get; set; } = TimeSpan.FromMinutes(5);

    public string CacheFolder { get; set; } = Path.Combine(Path.GetTempPath(), "deepslide-worker");

    /// <summary>Disk for slides: half for whole downloads, half for the sparse files of ranged reads.</summary>
    public long SlideCacheBytes { get; set; } = 20L << 30;

    /// <summary>Patches per run of the model; empty picks by device (16 on the CPU, 128 on CUDA).</summary>
    public int? BatchSize { get; set; }

    /// <summary>ONNX Runtime threads on the CPU; with several workers on one machine, split the cores between them.</summary>
    public int Threads { get; set; } = Environment.ProcessorCount;

    public ExecutionDevice Device { get; set; } = ExecutionDevice.Auto;

    /// <summary>Port of the <c>/healthz</c> endpoint the platform probes; 0 (the default, as on one machine) opens none.</summary>
    public int HealthPort { get; set; }
}

/// <summary>The work loop's liveness (<see cref="WorkerHealth"/>) as a health check: unhealthy once it has been silent too long.</summary>
internal sealed class WorkLoopHealthCheck(WorkerHealth health) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(health.IsHealthy
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"the work loop has been silent for {health.SinceLastBeat.TotalSeconds:0} s"));
}
