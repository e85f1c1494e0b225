using DeepSlide.Annotations;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;

namespace DeepSlide.Slides.Tests;

public sealed class SyntheticTruthTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-truth-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_written_annotations_are_the_slides_own_class_regions_and_read_back_through_the_QuPath_reader()
    {
        var slide = new SyntheticSlide(new SyntheticSlideSpec("squamous", 3000, 2000, Seed: 11) { BenignFraction = 0.6 });
        string[] classes = ["adenocarcinoma", "benign", "squamous"];
        SyntheticTruth.Write(slide, "s1", classes, _folder);

        string file = Path.Combine(_folder, SyntheticTruth.AnnotationsFolder, "s1.geojson");
        RegionAnnotations annotations = GeoJsonAnnotations.Parse(File.ReadAllText(file), file, 3000, 2000, classes);
        int inside = 0, tissue = 0, background = 0, annotatedBackground = 0;
        for (long y = 7; y < 2000; y += 29)
        {
            for (long x = 5; x < 3000; x += 31)
            {
                string? annotated = annotations.ClassAt(x, y);
                if (slide.IsTissue(x, y))
                {
                    Assert.Equal(slide.ClassAt(x, y) == "squamous" ? "squamous" : null, annotated);
                    inside += annotated is null ? 0 : 1;
                    tissue++;
                }
                else
                {
                    // The background is outlined only where a cell of the focus also holds tissue: its border.
                    annotatedBackground += annotated is null ? 0 : 1;
                    background++;
                }
            }
        }

        // About 40% of the tissue is the slide's own class, and little of the background is outlined with it.
        Assert.InRange(inside / (double)tissue, 0.25, 0.55);
        Assert.InRange(annotatedBackground / (double)background, 0, 0.08);
        Assert.True(File.Exists(Path.Combine(_folder, SyntheticTruth.MapsFolder, "s1.png")));
    }

    [Fact]
    public void A_benign_slide_has_no_annotation_file_and_mixed_mode_keeps_tumour_between_20_and_60_percent()
    {
        SyntheticTruth.Write(new SyntheticSlide(new SyntheticSlideSpec("benign", 1000, 800, Seed: 3)), "b", ["benign", "squamous"], _folder);
        Assert.False(File.Exists(Path.Combine(_folder, SyntheticTruth.AnnotationsFolder, "b.geojson")));

        foreach ((string cls, _, SyntheticSlide s) in SyntheticDataset.Specs(new SyntheticDatasetOptions { SlidesPerClass = 6, Mixed = true, Seed = 4 }))
        {
            double tumour = cls == "benign" ? 0 : 1 - s.Spec.BenignFraction;
            Assert.InRange(tumour, cls == "benign" ? 0 : 0.2, cls == "benign" ? 0 : 0.6);
        }
    }
}
