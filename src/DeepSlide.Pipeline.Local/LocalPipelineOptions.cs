using DeepSlide.Orchestration;

namespace DeepSlide.Pipeline.Local;

/// <summary>Where the local pipeline's services are and how it runs.</summary>
public sealed record LocalPipelineOptions
{
    public required string StorageConnection { get; init; }

    public required string CosmosEndpoint { get; init; }

    public string CosmosKey { get; init; } = CosmosServer.Key;

    public string Database { get; init; } = PipelineNames.Database;

    public string RunsContainer { get; init; } = PipelineNames.RunsContainer;

    /// <summary>The task hub's name in Azure Storage: its queues, tables and lease blobs are named after it.</summary>
    public string TaskHub { get; init; } = PipelineNames.TaskHub;

    public string RangeQueue { get; init; } = PipelineNames.RangeQueue;

    public string CompletionQueue { get; init; } = PipelineNames.CompletionQueue;

    /// <summary>The model bundle (a prefix in the models container) that uploads are classified with.</summary>
    public string ModelPrefix { get; init; } = PipelineNames.DefaultModelPrefix;

    /// <summary>Watch the slides container and start a run per new blob version, as Event Grid does in Azure.</summary>
    public bool WatchSlides { get; init; } = true;

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How runs are split and watched (tiles per range, deadline, re-dispatches).</summary>
    public SlideRunRequest RunDefaults { get; init; } = new(string.Empty, string.Empty, string.Empty);

    public string ScratchFolder { get; init; } = Path.Combine(Path.GetTempPath(), "deepslide-local");
}
