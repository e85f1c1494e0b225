using System.Text.Json;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Datasets;

/// <summary>How a patch set was cut (tiling.json beside the patches), so a model trained on it records its resolution.</summary>
public sealed record PatchTiling(int Window, int? Level, double? Mpp, double? Magnification, string Tissue)
{
    /// <summary>Class colours [r, g, b] from the annotations' QuPath classifications, when they gave any.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int>>? Colours { get; init; }

    /// <summary>How the patches were labelled: "slide", or "annotations" (some slides had them).</summary>
    public string Labels { get; init; } = "slide";

    public const string FileName = "tiling.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static PatchTiling From(TilingOptions options) => new(
        options.Window,
        options.Resolution.Unit == ResolutionUnit.Level ? (int)options.Resolution.Value : null,
        options.Resolution.Unit == ResolutionUnit.Mpp ? options.Resolution.Value : null,
        options.Resolution.Unit == ResolutionUnit.Magnification ? options.Resolution.Value : null,
        options.TissueMethod.ToString().ToLowerInvariant());

    /// <summary>The tiling recorded in <paramref name="folder"/>, or level 0 with Otsu when none is.</summary>
    public static PatchTiling Read(string folder)
    {
        string path = Path.Combine(folder, FileName);
        return File.Exists(path)
            ? JsonSerializer.Deserialize<PatchTiling>(File.ReadAllText(path), Json) ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, "the tiling record is empty.")
            : new PatchTiling(224, 0, null, null, "otsu");
    }

    public TissueMethod TissueMethod => TissueMasker.ParseMethod(Tissue);

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
