using System.CommandLine;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Cli.Commands;

/// <summary>The options every command that tiles a slide shares: resolution, window, stride and tissue filter.</summary>
internal sealed class TilingOptionSet
{
    private readonly TissueMethod _defaultTissue;

    public TilingOptionSet(TissueMethod defaultTissue = TissueMethod.Otsu)
    {
        _defaultTissue = defaultTissue;
        Tissue = new Option<string>("--tissue") { Description = "Tissue detector: otsu (saturation, default for real slides) or purple (DeepSlide's rule).", DefaultValueFactory = _ => defaultTissue.ToString().ToLowerInvariant() };
    }

    public Option<int?> Level { get; } = new("--level") { Description = "Tile at this pyramid level." };

    public Option<double?> Mpp { get; } = new("--mpp") { Description = "Tile at this resolution in microns per pixel (e.g. 0.5), rescaling from the best level." };

    public Option<double?> Magnification { get; } = new("--magnification") { Description = "Tile at this objective magnification (e.g. 20)." };

    public Option<int> Window { get; } = new("--window") { Description = "Patch side in pixels.", DefaultValueFactory = _ => 224 };

    public Option<int?> Stride { get; } = new("--stride") { Description = "Step between patches in working pixels (default: the window)." };

    public Option<double?> Overlap { get; } = new("--overlap") { Description = "DeepSlide's overlap factor: the stride is window / overlap." };

    public Option<string> Tissue { get; }

    public Option<double?> MinTissue { get; } = new("--min-tissue") { Description = "Keep tiles whose tissue fraction is above this (default: 0.25 for otsu, 100/256 for purple)." };

    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Level, Mpp, Magnification, Window, Stride, Overlap, Tissue, MinTissue })
        {
            command.Options.Add(option);
        }

        command.Validators.Add(result =>
        {
            int chosen = new Option[] { Level, Mpp, Magnification }.Count(o => result.GetResult(o) is not null);
            if (chosen > 1)
            {
                result.AddError("Give at most one of --level, --mpp and --magnification.");
            }

            if (result.GetResult(Stride) is not null && result.GetResult(Overlap) is not null)
            {
                result.AddError("Give --stride or --overlap, not both.");
            }
        });
    }

    public TilingOptions Read(ParseResult parse)
    {
        int window = parse.GetValue(Window);
        Resolution resolution = parse.GetValue(Level) is int level ? Resolution.AtLevel(level)
            : parse.GetValue(Mpp) is double mpp ? Resolution.AtMpp(mpp)
            : parse.GetValue(Magnification) is double power ? Resolution.AtMagnification(power)
            : Resolution.Baseline;
        int? stride = parse.GetValue(Stride) ?? (parse.GetValue(Overlap) is double overlap ? TileGrid.StrideFromOverlap(window, overlap) : null);
        var options = new TilingOptions
        {
            Window = window,
            Stride = stride,
            Resolution = resolution,
            TissueMethod = parse.GetValue(Tissue) is string tissue ? TissueMasker.ParseMethod(tissue) : _defaultTissue,
            MinTissueFraction = parse.GetValue(MinTissue),
        };
        options.Validate();
        return options;
    }
}
