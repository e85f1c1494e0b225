using System.Text.Json;

namespace DeepSlide.Pipeline;

/// <summary>
/// A worker's notice that a piece of a run is done (its output blob and count: patches for a range, plan tiles for a
/// plan) or failed for good (the reason), with the seconds the worker spent on it.
/// </summary>
public sealed record RangeCompletion(string RunId, int Range, bool Succeeded, string? OutputBlob, int Patches, string? Error, string Kind = WorkKind.Range, double Seconds = 0)
{
    /// <summary>The orchestration event every notice is raised as.</summary>
    public const string EventName = "RangeCompleted";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Which awaited piece this notice answers: the range index, or the kind for a plan or pictures.</summary>
    public string Key => Kind == WorkKind.Range ? $"{WorkKind.Range}:{Range}" : Kind;

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RangeCompletion FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<RangeCompletion>(json, Json) ?? throw new JsonException("empty document");
        }
        catch (JsonException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"not a range completion notice: {ex.Message}", ex);
        }
    }
}

/// <summary>Tells the orchestration about finished ranges (a queue the completion trigger turns into events).</summary>
public interface IRangeCompletionSink
{
    Task SendAsync(RangeCompletion completion, CancellationToken cancellationToken = default);
}
