namespace DeepSlide.Stain;

/// <summary>
/// Maps a patch's staining onto a target's. Fit once on representative target pixels; the fitted parameters are a
/// plain list of numbers (recorded in a model manifest) from which <see cref="Create"/> rebuilds the normaliser.
/// Apply is thread-safe.
/// </summary>
public abstract class StainNormalizer
{
    public abstract string Method { get; }

    public abstract IReadOnlyList<double> Target { get; }

    /// <summary>Normalises interleaved RGB in place.</summary>
    public abstract void Apply(Span<byte> rgb);

    public static StainNormalizer? Create(string method, IReadOnlyList<double>? target) => method.ToLowerInvariant() switch
    {
        "none" or "" => null,
        "reinhard" => ReinhardNormalizer.FromTarget(target ?? throw Missing(method)),
        "macenko" => MacenkoNormalizer.FromTarget(target ?? throw Missing(method)),
        _ => throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"unknown stain normalisation '{method}'; use none, reinhard or macenko."),
    };

    /// <summary>Fits a normaliser of the named method to target pixels (interleaved RGB, for example several patches).</summary>
    public static StainNormalizer? Fit(string method, ReadOnlySpan<byte> targetRgb) => method.ToLowerInvariant() switch
    {
        "none" or "" => null,
        "reinhard" => ReinhardNormalizer.Fit(targetRgb),
        "macenko" => MacenkoNormalizer.Fit(targetRgb),
        _ => throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"unknown stain normalisation '{method}'; use none, reinhard or macenko."),
    };

    private static DeepSlideException Missing(string method) =>
        new(DeepSlideErrorReason.InvalidModel, null, $"stain normalisation '{method}' needs its fitted target values.");
}
