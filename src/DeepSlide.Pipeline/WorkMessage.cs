using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSlide.Tiling;

namespace DeepSlide.Pipeline;

/// <summary>The three steps of a run that workers do; the orchestration only sends them and waits.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WorkKind>))]
public enum WorkKind
{
    /// <summary>Tissue mask and tile plan at the model's resolution.</summary>
    Plan,

    /// <summary>Classify one range of the plan's tiles.</summary>
    Range,

    /// <summary>
    /// Merge the ranges' predictions, call the slide with every aggregator of the manifest, and draw the thumbnail,
    /// overlay, heatmaps, tissue mask and QuPath GeoJSON from them.
    /// </summary>
    Aggregate,
}

/// <summary>
/// One piece of a run's work: a step, and for <see cref="WorkKind.Range"/> the tiles. <see cref="Key"/> is its one
/// string form, shared by message ids, completion notices and the orchestration's bookkeeping.
/// </summary>
public sealed record WorkItem(WorkKind Kind, TileRange? Tiles = null)
{
    public static readonly WorkItem Plan = new(WorkKind.Plan);

    public static readonly WorkItem Aggregate = new(WorkKind.Aggregate);

    public static WorkItem ForRange(TileRange tiles) => new(WorkKind.Range, tiles);

    /// <summary><c>plan</c>, <c>range:17</c> or <c>aggregate</c>.</summary>
    [JsonIgnore]
    public string Key => Kind == WorkKind.Range ? $"range:{RangeTiles.Index}" : Kind.ToString().ToLowerInvariant();

    /// <summary>The tiles of a range; fails for the other steps, which have none.</summary>
    [JsonIgnore]
    public TileRange RangeTiles => Tiles ?? throw new InvalidOperationException($"the {Kind} step has no tile range.");

    /// <summary>Null when the item is well formed, otherwise why not.</summary>
    public string? Problem() => (Kind, Tiles) switch
    {
        (WorkKind.Range, null) => "a range names no tiles.",
        (WorkKind.Range, { } t) when t.Index < 0 || t.Start < 0 || t.Count < 0 => "the tile range is negative.",
        (not WorkKind.Range, not null) => $"the {Key} step names tiles, which only a range has.",
        _ => null,
    };

    public override string ToString() => Tiles is { } t ? $"range {t.Index} (tiles {t.Start}..{t.End})" : $"the {Key} step";
}

/// <summary>
/// One piece of a run for a worker. It carries blob references, never patch data: the slide (pinned by ETag), the
/// plan, and the model bundle's prefix; and the W3C trace context of the run, so the worker's spans join the run's
/// trace. The aggregate step also gets the run's <see cref="RangeSize"/>, to find every range's output.
/// </summary>
public sealed record WorkMessage(
    string RunId,
    string SlideBlob,
    string SlideETag,
    string PlanBlob,
    string ModelPrefix,
    WorkItem Work,
    string? TraceParent = null,
    int Attempt = 0,
    int RangeSize = 0)
{
    /// <summary>The largest message a transport must carry (Service Bus Standard allows 256 KB; we stay far below).</summary>
    public const int MaxBytes = 64 * 1024;

    private static JsonSerializerOptions Json => PipelineJson.Options;

    /// <summary>
    /// The same for every send of this piece of this run, so a transport drops duplicates; a re-dispatch after the
    /// run's deadline is a new attempt with its own id, which duplicate detection must not swallow.
    /// </summary>
    public string MessageId => $"{RunId}:{Work.Key}" + (Attempt > 0 ? $":retry{Attempt}" : string.Empty);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The message a body holds; a body that is not one (not JSON, a field missing, an unknown kind) fails with a <see cref="DeepSlideException"/>.</summary>
    public static WorkMessage FromJson(string json)
    {
        WorkMessage? message;
        try
        {
            message = JsonSerializer.Deserialize<WorkMessage>(json, Json);
        }
        catch (JsonException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"the message is not a piece of work: {ex.Message}");
        }

        string? problem =
            message is null ? "the message is empty."
            : string.IsNullOrEmpty(message.RunId) || string.IsNullOrEmpty(message.SlideBlob) || string.IsNullOrEmpty(message.SlideETag) || message.PlanBlob is null || string.IsNullOrEmpty(message.ModelPrefix) || message.Work is null
                ? "the message lacks its run id, slide, slide version, plan, model or work."
            : !Enum.IsDefined(message.Work.Kind) ? $"the message's kind {(int)message.Work.Kind} is none of {string.Join(", ", Enum.GetNames<WorkKind>())}."
            : message.Work.Kind == WorkKind.Aggregate && message.RangeSize <= 0 ? "the aggregate step names no range size."
            : message.Work.Problem();
        return problem is null ? message! : throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, problem);
    }
}

/// <summary>
/// A worker's notice that a piece of a run is done (its output blob) or failed for good (the reason), with the
/// seconds the worker spent on it and what the step counted: the plan its tiles, a range its patches, the pictures
/// their files, the aggregate step the slide's calls.
/// </summary>
public sealed record WorkCompletion(string RunId, WorkItem Work, bool Succeeded, string? OutputBlob, string? Error, double Seconds = 0)
{
    /// <summary>The orchestration event every notice is raised as.</summary>
    public const string EventName = "WorkCompleted";

    private static JsonSerializerOptions Json => PipelineJson.Options;

    /// <summary>
    /// A failed notice for a piece given up without a failure of its own: it was delivered too often without
    /// completing (its workers were stopped or killed, or lost its lock). The run sends it again rather than failing.
    /// </summary>
    public bool Lost { get; init; }

    /// <summary>The plan step: tissue tiles in the plan.</summary>
    public int PlannedTiles { get; init; }

    /// <summary>A range or the aggregate step: patches classified or merged.</summary>
    public int Patches { get; init; }

    /// <summary>The pictures step: files drawn.</summary>
    public int Files { get; init; }

    /// <summary>The aggregate step: the slide's calls and the model that made them.</summary>
    public SlideCalls? Calls { get; init; }

    /// <summary>Bytes of the slide this piece fetched from storage (0 when its bytes were already on the worker).</summary>
    public long SlideBytesFetched { get; init; }

    /// <summary>The slide's size in bytes.</summary>
    public long SlideBytes { get; init; }

    /// <summary>Why the piece read the whole slide instead of its tiles' bytes (the format cannot be mapped), if it did.</summary>
    public string? WholeSlideBecause { get; init; }

    /// <summary>Seconds from taking the piece to having its slide bytes on disk: the wait before its first patch.</summary>
    public double FetchSeconds { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static WorkCompletion FromJson(string json)
    {
        try
        {
            WorkCompletion notice = JsonSerializer.Deserialize<WorkCompletion>(json, Json) ?? throw new JsonException("empty document");
            return notice.Work?.Problem() is { } problem || notice.Work is null || string.IsNullOrEmpty(notice.RunId)
                ? throw new JsonException(notice.Work?.Problem() ?? "the notice lacks its run id or work.")
                : notice;
        }
        catch (JsonException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"not a work completion notice: {ex.Message}", ex);
        }
    }
}

/// <summary>What the aggregate step tells the run: each aggregator's call, the model, and the merged outputs' blobs.</summary>
public sealed record SlideCalls(IReadOnlyList<StoredCall> Calls, RunModel Model, IReadOnlyDictionary<string, string> Outputs);

/// <summary>Tells the orchestration about finished work (a queue the completion trigger turns into events).</summary>
public interface IWorkCompletionSink
{
    Task SendAsync(WorkCompletion completion, CancellationToken cancellationToken = default);
}
