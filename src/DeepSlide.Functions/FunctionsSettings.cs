using System.ComponentModel.DataAnnotations;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline;

namespace DeepSlide.Functions;

/// <summary>
/// The app settings this app reads, by name: the deployment (infra/) sets each of them, and a test checks that it
/// does. Connections are identity-based in Azure (<c>__blobServiceUri</c>, <c>__fullyQualifiedNamespace</c>,
/// <c>__accountEndpoint</c>); a connection string works for local development.
/// </summary>
public static class FunctionsSettings
{
    /// <summary>The storage connection of the slides, results and models containers and the pipeline's queues.</summary>
    public const string PipelineStorage = "PipelineStorage";

    public const string PipelineStorageBlobUri = "PipelineStorage__blobServiceUri";

    public const string PipelineStorageQueueUri = "PipelineStorage__queueServiceUri";

    /// <summary>Service Bus namespace of the tile-range queue; without it ranges go to a Storage queue (local development).</summary>
    public const string ServiceBusNamespace = "ServiceBus__fullyQualifiedNamespace";

    public const string CosmosEndpoint = "Cosmos__accountEndpoint";

    public const string ModelPrefix = RunSettings.Section + "__" + nameof(RunSettings.ModelPrefix);

    public const string TilesPerRange = RunSettings.Section + "__" + nameof(RunSettings.TilesPerRange);

    public const string RangeDeadline = RunSettings.Section + "__" + nameof(RunSettings.RangeDeadline);

    public const string MaxRedispatches = RunSettings.Section + "__" + nameof(RunSettings.MaxRedispatches);

    /// <summary>The settings an Azure deployment must set for this app (besides the Functions host's own).</summary>
    public static IReadOnlyList<string> Required { get; } =
    [
        PipelineStorageBlobUri, PipelineStorageQueueUri, ServiceBusNamespace, CosmosEndpoint, ModelPrefix,
    ];

    /// <summary>An app setting's name as configuration sees it: the environment provider reads "__" as a section separator.</summary>
    public static string Key(string setting) => setting.Replace("__", ":", StringComparison.Ordinal);
}

/// <summary>
/// How runs are split and watched, and which model classifies uploads: the <c>DeepSlide__*</c> app settings, bound
/// and validated as the app starts. An unset one keeps its default; one the binder cannot read (a TimeSpan written as
/// ISO 8601 "PT10M", say) fails the start, naming it, rather than being silently replaced by the default.
/// </summary>
public sealed class RunSettings
{
    public const string Section = "DeepSlide";

    private static readonly SlideRunRequest Defaults = new(string.Empty, string.Empty, string.Empty);

    [Range(1, 100_000)]
    public int TilesPerRange { get; set; } = Defaults.TilesPerRange;

    /// <summary>Written hh:mm:ss, as the .NET binder reads a TimeSpan.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true)]
    public TimeSpan RangeDeadline { get; set; } = Defaults.Deadline;

    [Range(0, 100)]
    public int MaxRedispatches { get; set; } = Defaults.MaxRedispatches;

    [Required]
    public string ModelPrefix { get; set; } = PipelineNames.DefaultModelPrefix;

    /// <summary>The run defaults the triggers and the API start runs with.</summary>
    public SlideRunRequest RunDefaults() => Defaults with { TilesPerRange = TilesPerRange, Deadline = RangeDeadline, MaxRedispatches = MaxRedispatches };
}
