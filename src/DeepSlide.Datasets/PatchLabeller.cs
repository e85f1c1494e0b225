using DeepSlide.Annotations;
using DeepSlide.Slides;
using DeepSlide.Tiling;

namespace DeepSlide.Datasets;

/// <summary>
/// Gives a slide's tiles their training labels: from the slide's region annotations when it has a file in the
/// annotations folder (the class holding most of the tile's tissue, judged on the tissue mask's pixels), otherwise
/// the slide's own label, as DeepSlide does.
/// </summary>
public sealed class PatchLabeller
{
    private readonly string _slideClass;
    private readonly string? _outsideClass;
    private readonly double _minAnnotatedShare;

    private PatchLabeller(string slideClass, RegionAnnotations? annotations, string? file, string? outsideClass, double minAnnotatedShare = 0.5)
    {
        _minAnnotatedShare = minAnnotatedShare;
        _slideClass = slideClass;
        Annotations = annotations;
        File = file;
        _outsideClass = outsideClass;
    }

    public RegionAnnotations? Annotations { get; }

    /// <summary>The annotation file, when the slide has one.</summary>
    public string? File { get; }

    /// <summary>"slide", or "annotations:{file name}", for slides.csv.</summary>
    public string Source => File is null ? "slide" : $"annotations:{Path.GetFileName(File)}";

    public static PatchLabeller For(LabelledSlide slide, SlideInfo info, IReadOnlyCollection<string> classes, PatchExtractionOptions options)
    {
        string? file = options.AnnotationsFolder is string folder ? Path.Combine(folder, slide.Name + ".geojson") : null;
        if (file is null || !System.IO.File.Exists(file))
        {
            return new PatchLabeller(slide.ClassName, null, null, null);
        }

        RegionAnnotations annotations = GeoJsonAnnotations.Parse(System.IO.File.ReadAllText(file), file, info.Width, info.Height, classes);
        return new PatchLabeller(slide.ClassName, annotations, file, options.OutsideClass, options.MinAnnotatedShare);
    }

    /// <summary>The tile's label and where it came from; a null class leaves the tile out.</summary>
    public RegionLabel Label(Tile tile, TilePlan plan)
    {
        if (Annotations is null)
        {
            return new RegionLabel(_slideClass, LabelSource.Slide, 1);
        }

        double size = plan.TileSizeAtLevel0;
        List<(double X, double Y)> tissue = TissuePoints(tile, size, plan);
        return Annotations.LabelOf(tile.X, tile.Y, size, _outsideClass, tissue.Count > 0 ? tissue : null, _minAnnotatedShare);
    }

    // The centres of the tissue mask's tissue pixels inside the tile.
    private static List<(double X, double Y)> TissuePoints(Tile tile, double size, TilePlan plan)
    {
        var points = new List<(double, double)>();
        if (plan.Mask is not { } mask)
        {
            return points;
        }

        double d = mask.Downsample;
        int i0 = Math.Max(0, (int)Math.Floor(tile.X / d)), i1 = Math.Min(mask.Width, (int)Math.Ceiling((tile.X + size) / d));
        int j0 = Math.Max(0, (int)Math.Floor(tile.Y / d)), j1 = Math.Min(mask.Height, (int)Math.Ceiling((tile.Y + size) / d));
        for (int j = j0; j < j1; j++)
        {
            for (int i = i0; i < i1; i++)
            {
                double x = (i + 0.5) * d, y = (j + 0.5) * d;
                if (mask[i, j] && x >= tile.X && x < tile.X + size && y >= tile.Y && y < tile.Y + size)
                {
                    points.Add((x, y));
                }
            }
        }

        return points;
    }
}
