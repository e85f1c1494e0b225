using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Results;

/// <summary>
/// Tile plans as the pipeline stores them in blobs: the plan step writes them, range and pictures steps read them.
/// The tissue mask (up to a megapixel) is stored as packed bits in Base64, not as a JSON array of booleans, which
/// keeps a plan at a few hundred KB instead of several MB.
/// </summary>
public static class TilePlanJson
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase), new TissueMaskConverter() },
    };

    /// <summary>The plan, and the version of the model it was made for (the pipeline pins a run's model to it).</summary>
    public static string Serialize(TilePlan plan, string? modelVersion = null) => JsonSerializer.Serialize(new StoredPlan(plan, plan.Mask, modelVersion), Json);

    public static TilePlan Deserialize(string json, string source) => DeserializeWithModel(json, source).Plan;

    public static (TilePlan Plan, string? ModelVersion) DeserializeWithModel(string json, string source)
    {
        try
        {
            StoredPlan stored = JsonSerializer.Deserialize<StoredPlan>(json, Json) ?? throw new JsonException("empty document");
            return ((stored.Plan ?? throw new JsonException("no plan")) with { Mask = stored.Mask }, stored.ModelVersion);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException)
        {
            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, source, $"not a tile plan: {ex.Message}", ex);
        }
    }

    // The domain's plan leaves its mask out of JSON; here it travels beside the plan.
    private sealed record StoredPlan(TilePlan Plan, TissueMask? Mask, string? ModelVersion = null);

    private sealed class TissueMaskConverter : JsonConverter<TissueMask>
    {
        private sealed record Stored(int Width, int Height, double Downsample, string Bits);

        private static readonly JsonSerializerOptions StoredJson = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

        public override TissueMask Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            Stored stored = JsonSerializer.Deserialize<Stored>(ref reader, StoredJson)
                ?? throw new JsonException("empty tissue mask");
            var bits = new BitArray(Convert.FromBase64String(stored.Bits));
            int count = stored.Width * stored.Height;
            if (bits.Length < count)
            {
                throw new JsonException($"the tissue mask has {bits.Length} bits for {stored.Width} x {stored.Height} pixels");
            }

            var pixels = new bool[count];
            for (int i = 0; i < count; i++)
            {
                pixels[i] = bits[i];
            }

            return new TissueMask(stored.Width, stored.Height, stored.Downsample, pixels);
        }

        public override void Write(Utf8JsonWriter writer, TissueMask value, JsonSerializerOptions options)
        {
            var bytes = new byte[(value.Pixels.Length + 7) / 8];
            new BitArray(value.Pixels).CopyTo(bytes, 0);
            JsonSerializer.Serialize(writer, new Stored(value.Width, value.Height, value.Downsample, Convert.ToBase64String(bytes)), StoredJson);
        }
    }
}
