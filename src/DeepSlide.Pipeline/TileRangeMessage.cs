using System.Text.Json;

namespace DeepSlide.Pipeline;

/// <summary>What a worker is asked to do with a slide: plan it, classify one range of its tiles, or draw its pictures.</summary>
public static class WorkKind
{
    /// <summary>Tissue mask and tile plan at the model's resolution; the notice carries the plan's tile count.</summary>
    public const string Plan = "plan";

    /// <summary>Classify the tiles <c>Start .. Start + Count</c> of the plan.</summary>
    public const string Range = "range";

    /// <summary>Thumbnail, overlay, heatmaps, tissue mask and QuPath GeoJSON from the merged patch predictions.</summary>
    public const string Pictures = "pictures";
}

/// <summary>
/// One piece of a run for a worker: usually a range of a slide's tile plan. It carries blob references, never patch
/// data: the slide (pinned by ETag), the plan, and the model bundle's prefix; and the W3C trace context of the run, so
/// the worker's spans join the run's trace.
/// </summary>
public sealed record TileRangeMessage(
    string RunId,
    string SlideBlob,
    string SlideETag,
    string PlanBlob,
    string ModelPrefix,
    int Range,
    int Start,
    int Count,
    string Kind = WorkKind.Range,
    string? TraceParent = null,
    int Attempt = 0)
{
    /// <summary>The largest message a transport must carry (Service Bus Standard allows 256 KB; we stay far below).</summary>
    public const int MaxBytes = 64 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// The same for every send of this piece of this run, so a transport drops duplicates; a re-dispatch after the
    /// run's deadline is a new attempt with its own id, which duplicate detection must not swallow.
    /// </summary>
    public string MessageId => (Kind == WorkKind.Range ? $"{RunId}:{Range}" : $"{RunId}:{Kind}") + (Attempt > 0 ? $":retry{Attempt}" : string.Empty);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The message a body holds; a body that is not one (not JSON, a field missing, an unknown kind) fails with a <see cref="DeepSlideException"/>.</summary>
    public static TileRangeMessage FromJson(string json)
    {
        TileRangeMessage? message;
        try
        {
            message = JsonSerializer.Deserialize<TileRangeMessage>(json, Json);
        }
        catch (JsonException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"the message is not a tile range: {ex.Message}");
        }

        string? problem =
            message is null ? "the message is empty."
            : string.IsNullOrEmpty(message.RunId) || string.IsNullOrEmpty(message.SlideBlob) || string.IsNullOrEmpty(message.SlideETag) || message.PlanBlob is null || string.IsNullOrEmpty(message.ModelPrefix)
                ? "the message lacks its run id, slide, slide version, plan or model."
            : message.Kind is not (WorkKind.Plan or WorkKind.Range or WorkKind.Pictures) ? $"the message's kind '{message.Kind}' is none of plan, range, pictures."
            : message.Start < 0 || message.Count < 0 ? "the message's tile range is negative."
            : null;
        return problem is null ? message! : throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, problem);
    }
}
