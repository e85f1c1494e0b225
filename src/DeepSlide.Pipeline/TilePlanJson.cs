using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSlide.Tiling;

namespace DeepSlide.Pipeline;

/// <summary>Tile plans as the pipeline stores them in blobs: the plan activity writes them, workers read their ranges.</summary>
public static class TilePlanJson
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static string Serialize(TilePlan plan) => JsonSerializer.Serialize(plan, Json);

    public static TilePlan Deserialize(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<TilePlan>(json, Json) ?? throw new JsonException("empty document");
        }
        catch (JsonException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, source, $"not a tile plan: {ex.Message}", ex);
        }
    }
}
