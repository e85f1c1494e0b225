namespace DeepSlide.Pipeline;

public static class RunStatus
{
    public const string Planning = "Planning";
    public const string Running = "Running";
    public const string Aggregating = "Aggregating";
    public const string Completed = "Completed";
    public const string Failed = "Failed";
    public const string NoTissue = "NoTissue";
}

/// <summary>One aggregator's slide-level call, as stored.</summary>
public sealed record StoredCall(string Method, string? Label, IReadOnlyDictionary<string, double> Scores, string? Note);

/// <summary>
/// One classification run of one slide: the results store's document, partitioned by <see cref="SlideId"/> so a
/// slide's runs are read from one partition.
/// </summary>
public sealed record SlideRun
{
    /// <summary>The run id (the orchestration instance id).</summary>
    public required string Id { get; init; }

    public required string SlideId { get; init; }

    public required string SlideBlob { get; init; }

    public required string SlideETag { get; init; }

    public required string ModelPrefix { get; init; }

    public string Status { get; init; } = RunStatus.Planning;

    public int RangesDone { get; init; }

    public int RangesTotal { get; init; }

    public DateTimeOffset CreatedUtc { get; init; }

    public DateTimeOffset UpdatedUtc { get; init; }

    /// <summary>Why the run failed, when it did.</summary>
    public string? Error { get; init; }

    public IReadOnlyList<StoredCall> Calls { get; init; } = [];

    /// <summary>The Parquet blobs of the patch predictions, one per range.</summary>
    public IReadOnlyList<string> PatchOutputs { get; init; } = [];

    /// <summary>A slide's id from its blob name: the characters Cosmos DB forbids in ids are replaced.</summary>
    public static string SlideIdOf(string slideBlob) =>
        new(slideBlob.Select(c => c is '/' or '\\' or '?' or '#' ? '_' : c).ToArray());
}

/// <summary>Where runs and their results live (Cosmos DB in Azure, cosmosdb-server locally).</summary>
public interface ISlideRunStore
{
    Task UpsertAsync(SlideRun run, CancellationToken cancellationToken = default);

    Task<SlideRun?> GetAsync(string slideId, string runId, CancellationToken cancellationToken = default);

    /// <summary>A slide's runs, newest first.</summary>
    Task<IReadOnlyList<SlideRun>> ListAsync(string slideId, CancellationToken cancellationToken = default);
}
