using DeepSlide.Aggregation;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using DeepSlide.Tiling;

namespace DeepSlide.Viewer.Tests;

/// <summary>
/// Synthetic slides (an Aperio SVS and a generic tiled TIFF) and a classify-style results folder for them, written once
/// for a test class. Each patch's probabilities come from the slide's region truth: the patch's centre class gets
/// 0.8 (0.7 + a tenth of its index in the plan's tenth, so every patch's numbers differ), the others share the rest.
/// </summary>
public sealed class ViewerSlides : IDisposable
{
    public static readonly IReadOnlyList<string> Classes = ["adenocarcinoma", "benign", "squamous"];

    public ViewerSlides()
    {
        Folder = Directory.CreateTempSubdirectory("deepslide-viewer-").FullName;
        SlidesFolder = Path.Combine(Folder, "slides");
        ResultsFolder = Path.Combine(Folder, "results");
        Directory.CreateDirectory(SlidesFolder);
        Spec = new SyntheticSlideSpec("squamous", 5000, 3300, Seed: 23) { BenignFraction = 0.4 };
        Slide = new SyntheticSlide(Spec);
        Aperio = Path.Combine(SlidesFolder, "case <b>\"7\".svs");
        GenericTiff = Path.Combine(SlidesFolder, "generic.tif");
        SyntheticSlideWriter.Write(Slide, Aperio, SyntheticFormat.Aperio);
        SyntheticSlideWriter.Write(Slide, GenericTiff, SyntheticFormat.Tiff);
        WriteResult(Aperio, minFocus: 1);
        WriteResult(GenericTiff, minFocus: 1000);
    }

    public string Folder { get; }

    public string SlidesFolder { get; }

    public string ResultsFolder { get; }

    public SyntheticSlideSpec Spec { get; }

    public SyntheticSlide Slide { get; }

    public string Aperio { get; }

    public string GenericTiff { get; }

    public string RunIdOf(string slidePath) => ResultsFolderSource.RunIdOf(Path.GetFileNameWithoutExtension(slidePath));

    /// <summary>The probabilities written for a patch whose top-left corner is (x, y), in class order.</summary>
    public static float[] Probabilities(string truthClass, int index)
    {
        int c = Classes.ToList().IndexOf(truthClass);
        float top = 0.7f + (index % 10 / 100f);
        float rest = (1 - top) / (Classes.Count - 1);
        return Classes.Select((_, i) => i == c ? top : rest).ToArray();
    }

    /// <summary>The level-0 corner of the slide's first classified patch.</summary>
    public (long X, long Y) FirstPatch(string slidePath)
    {
        SlideResultFile result = SlideResultReader.Read(Path.Combine(ResultsFolder, Path.GetFileNameWithoutExtension(slidePath) + ".json"));
        return (result.Patches[0].X, result.Patches[0].Y);
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    /// <summary>Majority, mean and thresholding by focus; a least focus larger than the slide's makes thresholding call benign.</summary>
    private void WriteResult(string path, int minFocus)
    {
        using ISlideReader reader = SlideReader.Open(path);
        TilePlan plan = TilePlanner.Plan(reader, new TilingOptions());
        var values = new float[plan.Tiles.Count * Classes.Count];
        for (int i = 0; i < plan.Tiles.Count; i++)
        {
            Tile t = plan.Tiles[i];
            Probabilities(Slide.ClassAt(Math.Min(t.X + 112, Spec.Width - 1), Math.Min(t.Y + 112, Spec.Height - 1)), i).CopyTo(values, i * Classes.Count);
        }

        var patches = new PatchProbabilities(Classes, values) { Grid = [.. plan.Tiles.Select(t => (t.Column, t.Row))] };
        ISlideAggregator[] aggregators = [new MajorityVoteAggregator(), new MeanProbabilityAggregator(), new ThresholdAggregator([0.5, 0.5, 0.5], normalClass: 1, minFocus: minFocus)];
        var calls = aggregators.Select(a => a.Aggregate(patches)).ToList();
        var result = new SlideResult(path, SlideStatus.Classified, plan, patches, calls, "test", 0)
        {
            ClassColours = new Dictionary<string, (byte, byte, byte)> { ["squamous"] = (200, 30, 160) },
        };
        ResultFiles.WriteSlideAsync(result, ResultsFolder).GetAwaiter().GetResult();
    }
}
