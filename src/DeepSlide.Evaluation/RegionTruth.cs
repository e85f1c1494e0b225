using DeepSlide.Annotations;

namespace DeepSlide.Evaluation;

/// <summary>
/// Region truth for patch-level evaluation: a folder of QuPath GeoJSON annotations, <c>{slide}.geojson</c> (the
/// same files <c>tiles --annotations</c> reads, or the ones <c>synth</c> writes). Area outside every annotation is
/// the outside class when one is named; a slide without a file is scored against its own label.
/// </summary>
public sealed class RegionTruth(string folder, string? outsideClass)
{
    public string Folder { get; } = Directory.Exists(folder) ? folder : throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, folder, "the annotations folder does not exist.");

    public string? OutsideClass { get; } = outsideClass;

    public RegionAnnotations? For(string slide, IReadOnlyCollection<string> classes)
    {
        string path = Path.Combine(Folder, slide + ".geojson");
        return File.Exists(path) ? GeoJsonAnnotations.Parse(File.ReadAllText(path), path, knownClasses: classes) : null;
    }
}
