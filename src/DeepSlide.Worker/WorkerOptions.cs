using DeepSlide.Inference;

namespace DeepSlide.Worker;

/// <summary>The worker's settings, bound from the "Worker" configuration section (DEEPSLIDE_Worker__* variables).</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>Azure Storage (Azurite locally): the container, the completion queue and, without Service Bus, the range queue.</summary>
    public string StorageConnection { get; set; } = string.Empty;

    /// <summary>When set, tile ranges come from this Service Bus namespace instead of a Storage queue.</summary>
    public string? ServiceBusConnection { get; set; }

    public string Container { get; set; } = "pipeline";

    public string RangeQueue { get; set; } = "tile-ranges";

    public string CompletionQueue { get; set; } = "range-completions";

    public int MaxDeliveryCount { get; set; } = 5;

    public TimeSpan LockDuration { get; set; } = TimeSpan.FromMinutes(5);

    public string CacheFolder { get; set; } = Path.Combine(Path.GetTempPath(), "deepslide-worker");

    public long SlideCacheBytes { get; set; } = 20L << 30;

    public int BatchSize { get; set; } = 32;

    public ExecutionDevice Device { get; set; } = ExecutionDevice.Auto;
}
