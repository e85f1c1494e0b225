using System.Globalization;
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

    public const string ModelPrefix = "DeepSlide__ModelPrefix";

    public const string TilesPerRange = "DeepSlide__TilesPerRange";

    public const string RangeDeadline = "DeepSlide__RangeDeadline";

    public const string MaxRedispatches = "DeepSlide__MaxRedispatches";

    /// <summary>The settings an Azure deployment must set for this app (besides the Functions host's own).</summary>
    public static IReadOnlyList<string> Required { get; } =
    [
        PipelineStorageBlobUri, PipelineStorageQueueUri, ServiceBusNamespace, CosmosEndpoint, ModelPrefix,
    ];

    /// <summary>
    /// The run settings; an unset one keeps its default, and one that is set but unreadable (a TimeSpan written as
    /// ISO 8601 "PT10M", say) throws, naming it, rather than being silently replaced by the default.
    /// </summary>
    public static SlideRunRequest RunDefaults(Func<string, string?> setting)
    {
        var defaults = new SlideRunRequest(string.Empty, string.Empty, string.Empty);
        return defaults with
        {
            TilesPerRange = Read(setting, TilesPerRange, defaults.TilesPerRange, s => (int.TryParse(s, CultureInfo.InvariantCulture, out int v), v)),
            Deadline = Read(setting, RangeDeadline, defaults.Deadline, s => (TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out TimeSpan v), v)),
            MaxRedispatches = Read(setting, MaxRedispatches, defaults.MaxRedispatches, s => (int.TryParse(s, CultureInfo.InvariantCulture, out int v), v)),
        };
    }

    private static T Read<T>(Func<string, string?> setting, string name, T fallback, Func<string, (bool Ok, T Value)> parse)
    {
        if (setting(name) is not { Length: > 0 } text)
        {
            return fallback;
        }

        (bool ok, T value) = parse(text);
        return ok ? value : throw new InvalidOperationException($"App setting {name} is '{text}', which is not a valid {typeof(T).Name} (a TimeSpan is written hh:mm:ss).");
    }

    public static string DefaultModel(Func<string, string?> setting) => setting(ModelPrefix) is { Length: > 0 } model ? model : PipelineNames.DefaultModelPrefix;
}
