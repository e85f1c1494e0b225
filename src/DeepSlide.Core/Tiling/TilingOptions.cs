using DeepSlide.Slides;
using DeepSlide.Tissue;

namespace DeepSlide.Tiling;

/// <summary>How to lay tiles over a slide. Validated by <see cref="Validate"/>.</summary>
public sealed record TilingOptions
{
    public int Window { get; init; } = 224;

    /// <summary>Step between windows in working pixels; defaults to the window (no overlap).</summary>
    public int? Stride { get; init; }

    public Resolution Resolution { get; init; } = Resolution.Baseline;

    public TissueMethod TissueMethod { get; init; } = TissueMethod.Otsu;

    /// <summary>A tile is kept when its tissue fraction is strictly above this; the masker's default when null.</summary>
    public double? MinTissueFraction { get; init; }

    /// <summary>The most pixels a tissue mask may have; bounds planning memory on the largest slides.</summary>
    public int MaxMaskPixels { get; init; } = 1 << 20;

    public int EffectiveStride => Stride ?? Window;

    public void Validate()
    {
        if (Window < 16 || Window % 16 != 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"a window of {Window} px is not allowed; it must be a multiple of 16 (224 by default).");
        }

        if (EffectiveStride <= 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"a stride of {EffectiveStride} px is not allowed; it must be positive.");
        }

        if (MinTissueFraction is double min && (min < 0 || min >= 1))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"a minimum tissue fraction of {min} is not allowed; it must be in [0, 1).");
        }
    }
}
