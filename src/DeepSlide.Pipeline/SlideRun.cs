using DeepSlide.Aggregation;

namespace DeepSlide.Pipeline;

public static class RunStatus
{
    public const string Planning = "Planning";
    public const string Running = "Running";
    public const string Aggregating = "Aggregating";
    public const string Completed = "Completed";
    public const string Failed = "Failed";
    public const string NoTissue = "NoTissue";

    public static bool IsFinal(string status) => status is Completed or Failed or NoTissue;
}

/// <summary>One aggregator's slide-level call, as stored.</summary>
public sealed record StoredCall(string Method, string? Label, IReadOnlyDictionary<string, double> Scores, string? Note)
{
    /// <summary>The focus the call rests on, on the plan's grid (the threshold aggregator's focus rule).</summary>
    public FocusArea? Focus { get; init; }
}

/// <summary>The model bundle a run used, as its manifest and files name it.</summary>
public sealed record RunModel(string Prefix, string? Name, string? Version, string? Sha256, IReadOnlyList<string> Classes);

/// <summary>
/// One classification run of one slide: the results store's document, partitioned by <see cref="SlideId"/> so a
/// slide's runs are read from one partition. Per-patch data stays in blobs (<see cref="Outputs"/>); a document stays
/// a few KB whatever the slide's size.
/// </summary>
public sealed record SlideRun
{
    /// <summary>The run id (the orchestration instance id).</summary>
    public required string Id { get; init; }

    public required string SlideId { get; init; }

    public required string SlideBlob { get; init; }

    public required string SlideETag { get; init; }

    public required string ModelPrefix { get; init; }

    public RunModel? Model { get; init; }

    public string Status { get; init; } = RunStatus.Planning;

    /// <summary>
    /// Counts the run's writes. An activity can run twice (a host stops mid-activity), so a late write must never
    /// replace a newer one: the store keeps the document with the highest revision.
    /// </summary>
    public int Revision { get; init; }

    public int RangesDone { get; init; }

    public int RangesTotal { get; init; }

    /// <summary>Tissue tiles in the plan, each classified as one patch.</summary>
    public int Patches { get; init; }

    /// <summary>The slide's size, and the bytes of it the workers fetched in all (ranged reads fetch only what each piece reads).</summary>
    public long SlideBytes { get; init; }

    public long SlideBytesFetched { get; init; }

    /// <summary>Why workers read the whole slide instead of their tiles' bytes (its format cannot be mapped), when they did.</summary>
    public string? WholeSlideBecause { get; init; }

    /// <summary>Ranges sent again after their deadline passed without a notice.</summary>
    public int Redispatched { get; init; }

    public DateTimeOffset CreatedUtc { get; init; }

    public DateTimeOffset UpdatedUtc { get; init; }

    /// <summary>Why the run failed, when it did.</summary>
    public string? Error { get; init; }

    public IReadOnlyList<StoredCall> Calls { get; init; } = [];

    /// <summary>Seconds spent in each stage: planning, inference, aggregating, pictures, total.</summary>
    public IReadOnlyDictionary<string, double> Seconds { get; init; } = new Dictionary<string, double>();

    /// <summary>Blob names in the results container: plan, patches, result, pictures, each range's Parquet.</summary>
    public IReadOnlyDictionary<string, string> Outputs { get; init; } = new Dictionary<string, string>();

    /// <summary>The Parquet blobs of the patch predictions, one per range.</summary>
    public IReadOnlyList<string> PatchOutputs { get; init; } = [];

    /// <summary>
    /// A slide's id from its blob name: the characters Cosmos DB forbids in ids, and control characters, are replaced,
    /// and a name longer than Cosmos DB's 255-character id limit is shortened with a hash that keeps it unique.
    /// </summary>
    public static string SlideIdOf(string slideBlob)
    {
        string id = new(slideBlob.Select(c => c is '/' or '\\' or '?' or '#' || char.IsControl(c) ? '_' : c).ToArray());
        return id.Length <= 200 ? id : $"{id[..160]}~{PipelineNames.Hash(slideBlob, 32)}";
    }
}

/// <summary>Where runs and their results live (Cosmos DB in Azure, cosmosdb-server locally).</summary>
public interface ISlideRunStore
{
    Task UpsertAsync(SlideRun run, CancellationToken cancellationToken = default);

    /// <summary>Stores the run only if no document with its id exists yet; false when one does.</summary>
    Task<bool> TryCreateAsync(SlideRun run, CancellationToken cancellationToken = default);

    Task<SlideRun?> GetAsync(string slideId, string runId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes a start's claim (the run's document while still at revision 0) after the start failed, so the next
    /// event for the upload starts the run; a document that has moved on is left as it is.
    /// </summary>
    Task ReleaseClaimAsync(SlideRun claim, CancellationToken cancellationToken = default);

    /// <summary>A slide's runs, newest first.</summary>
    Task<IReadOnlyList<SlideRun>> ListAsync(string slideId, CancellationToken cancellationToken = default);
}
