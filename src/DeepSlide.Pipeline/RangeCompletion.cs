using System.Text.Json;

namespace DeepSlide.Pipeline;

/// <summary>A worker's notice that a range is done (its output blob) or failed for good (the reason).</summary>
public sealed record RangeCompletion(string RunId, int Range, bool Succeeded, string? OutputBlob, int Patches, string? Error)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static RangeCompletion FromJson(string json) =>
        JsonSerializer.Deserialize<RangeCompletion>(json, Json) ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, "an empty range completion.");
}

/// <summary>Tells the orchestration about finished ranges (a queue the completion trigger turns into events).</summary>
public interface IRangeCompletionSink
{
    Task SendAsync(RangeCompletion completion, CancellationToken cancellationToken = default);
}
