namespace DeepSlide.Slides;

/// <summary>What a slide file says about itself. Coordinates elsewhere are level-0 ("baseline") pixels.</summary>
public sealed record SlideInfo
{
    public required string Path { get; init; }

    /// <summary>The vendor as OpenSlide names it ("aperio", "generic-tiff", ...) or the raster format ("jpeg", "png", "tiff").</summary>
    public required string Vendor { get; init; }

    public required IReadOnlyList<SlideLevel> Levels { get; init; }

    /// <summary>Microns per pixel at level 0, when the file records it.</summary>
    public double? MppX { get; init; }

    public double? MppY { get; init; }

    /// <summary>The scanner's objective power at level 0 (for example 20 or 40), when the file records it.</summary>
    public double? ObjectivePower { get; init; }

    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    public IReadOnlyList<string> AssociatedImages { get; init; } = [];

    public string Name => System.IO.Path.GetFileNameWithoutExtension(Path);

    public long Width => Levels[0].Width;

    public long Height => Levels[0].Height;

    /// <summary>The finest level whose downsample does not exceed <paramref name="downsample"/> (level 0 when none is coarse enough).</summary>
    public SlideLevel BestLevelForDownsample(double downsample)
    {
        SlideLevel best = Levels[0];
        foreach (SlideLevel level in Levels)
        {
            // A small tolerance: pyramid downsamples are often 3.9998 rather than 4.
            if (level.Downsample <= downsample * 1.001 && level.Downsample > best.Downsample)
            {
                best = level;
            }
        }

        return best;
    }
}
