using System.Globalization;

namespace DeepSlide.Slides;

public enum ResolutionUnit
{
    Level,
    Mpp,
    Magnification,
}

/// <summary>A requested working resolution: a pyramid level, microns per pixel, or an objective magnification.</summary>
public readonly record struct Resolution(ResolutionUnit Unit, double Value)
{
    public static Resolution Baseline => AtLevel(0);

    public static Resolution AtLevel(int level) => new(ResolutionUnit.Level, level);

    public static Resolution AtMpp(double mpp) => new(ResolutionUnit.Mpp, mpp);

    public static Resolution AtMagnification(double power) => new(ResolutionUnit.Magnification, power);

    public override string ToString() => Unit switch
    {
        ResolutionUnit.Level => $"level {Value.ToString(CultureInfo.InvariantCulture)}",
        ResolutionUnit.Mpp => $"{Value.ToString(CultureInfo.InvariantCulture)} mpp",
        _ => $"{Value.ToString(CultureInfo.InvariantCulture)}x",
    };

    /// <summary>
    /// Finds the level to read and the downsample (relative to level 0) of the working resolution.
    /// A working resolution finer than level 0 cannot be provided: that would be upsampling.
    /// </summary>
    public ResolvedResolution Resolve(SlideInfo slide)
    {
        double downsample;
        switch (Unit)
        {
            case ResolutionUnit.Level:
                int index = (int)Value;
                if (index != Value || index < 0 || index >= slide.Levels.Count)
                {
                    throw new DeepSlideException(
                        DeepSlideErrorReason.LevelUnavailable,
                        slide.Path,
                        $"level {Value.ToString(CultureInfo.InvariantCulture)} does not exist; the slide has levels 0 to {slide.Levels.Count - 1}.");
                }

                return new ResolvedResolution(slide.Levels[index], slide.Levels[index].Downsample);

            case ResolutionUnit.Mpp:
                downsample = Value / Recorded(slide, slide.MppX, "microns per pixel", "a level or a magnification");
                break;

            default:
                downsample = Recorded(slide, slide.ObjectivePower, "objective power", "a level or an mpp") / Value;
                break;
        }

        // Within 2% of a level counts as that level: scanners round their mpp, and rescaling by 1.01 only blurs.
        const double Tolerance = 0.02;
        if (downsample < 1 - Tolerance)
        {
            string have = Unit == ResolutionUnit.Mpp
                ? $"{slide.MppX!.Value.ToString("0.####", CultureInfo.InvariantCulture)} mpp"
                : $"{slide.ObjectivePower!.Value.ToString("0.##", CultureInfo.InvariantCulture)}x";
            throw new DeepSlideException(
                DeepSlideErrorReason.ResolutionUnavailable,
                slide.Path,
                $"a target of {this} is finer than the slide's level 0 ({have}); the slide cannot provide it.");
        }

        foreach (SlideLevel level in slide.Levels)
        {
            if (Math.Abs(level.Downsample / downsample - 1) <= Tolerance)
            {
                return new ResolvedResolution(level, level.Downsample);
            }
        }

        downsample = Math.Max(1.0, downsample);
        return new ResolvedResolution(slide.BestLevelForDownsample(downsample), downsample);
    }
    private double Recorded(SlideInfo slide, double? recorded, string what, string instead)
    {
        if (!(Value > 0))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, slide.Path, $"a target of {this} is not a valid {what}.");
        }

        return recorded ?? throw new DeepSlideException(
            DeepSlideErrorReason.ResolutionUnavailable,
            slide.Path,
            $"a target of {this} was asked for, but the slide records no {what}; use {instead} instead.");
    }
}

/// <summary>The level read from, and the working downsample relative to level 0 (at least the level's own).</summary>
public readonly record struct ResolvedResolution(SlideLevel Level, double Downsample)
{
    /// <summary>How many read-level pixels make one working pixel; 1 when no rescaling is needed.</summary>
    public double LevelScale => Downsample / Level.Downsample;

    public bool NeedsRescale => Math.Abs(LevelScale - 1) > 1e-9;
}
