using DeepSlide.Aggregation;
using DeepSlide.Tiling;

namespace DeepSlide.Models;

/// <summary>
/// Everything a model bundle's manifest decides about classifying a slide: how it is tiled, which aggregators call
/// it, and whether they need patch features. <c>deepslide classify</c> and every pipeline step take it from here, so
/// the pipeline tiles and aggregates exactly as <c>classify</c> does.
/// </summary>
public sealed record ClassificationSetup(TilingOptions Tiling, IReadOnlyList<ISlideAggregator> Aggregators)
{
    public bool NeedsFeatures => Aggregators.Any(a => a.NeedsFeatures);

    public static ClassificationSetup For(ModelManifest manifest) => new(TilingFor(manifest), Aggregation.Aggregators.FromManifest(manifest));

    /// <summary>Windows of the model's input size, at the resolution and with the tissue method it was trained with.</summary>
    public static TilingOptions TilingFor(ModelManifest manifest) =>
        new() { Window = manifest.Input.Size, Stride = manifest.Patch.Stride, Resolution = manifest.Patch.Resolution, TissueMethod = manifest.Patch.Tissue };
}
