using System.Text.Json;

namespace DeepSlide.Pipeline;

/// <summary>
/// One range of a slide's tile plan for a worker to classify. It carries blob references, never patch data:
/// the slide (pinned by ETag), the plan, and the model bundle's prefix.
/// </summary>
public sealed record TileRangeMessage(string RunId, string SlideBlob, string SlideETag, string PlanBlob, string ModelPrefix, int Range, int Start, int Count)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The same for every delivery of this range of this run, so a transport can drop duplicates.</summary>
    public string MessageId => $"{RunId}:{Range}";

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static TileRangeMessage FromJson(string json) =>
        JsonSerializer.Deserialize<TileRangeMessage>(json, Json)
        ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, "an empty tile-range message.");
}
