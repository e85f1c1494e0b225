using System.Text.Json;
using System.Text.Json.Serialization;

namespace DeepSlide.Models;

/// <summary>A model manifest's JSON form, parsed and validated the same way wherever the manifest is read.</summary>
public static class ModelManifestJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Parses and validates a manifest; <paramref name="source"/> names it in errors.</summary>
    public static ModelManifest Parse(string json, string source)
    {
        ModelManifest manifest;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            foreach (string required in new[] { "classes", "input", "output", "patch", "onnx" })
            {
                if (!document.RootElement.TryGetProperty(required, out _))
                {
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, source, $"the manifest has no '{required}' field.");
                }
            }

            manifest = document.Deserialize<ModelManifest>(Options) ?? throw new JsonException("empty manifest");
        }
        catch (JsonException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, source, $"the manifest is not valid JSON for a model manifest: {ex.Message}", ex);
        }

        manifest.Validate(source);
        return manifest;
    }
}
