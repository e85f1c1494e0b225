using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Datasets.Tests;

public class TrainingPatchExtractorTests
{
    private static void Write(string folder, string className, string name, long width, long height, int seed, double coverage = 0.4)
    {
        Directory.CreateDirectory(Path.Combine(folder, className));
        var slide = new SyntheticSlide(new SyntheticSlideSpec(className == "lung_adeno.v2" ? "adenocarcinoma" : className, width, height, seed) { TissueCoverage = coverage });
        SyntheticSlideWriter.Write(slide, Path.Combine(folder, className, name), SyntheticFormat.Tiff);
    }

    [Fact]
    public async Task Minority_classes_get_more_overlap_then_copies_until_the_training_classes_balance()
    {
        using var temp = new TempFolder();
        string input = temp["slides"], output = temp["patches"];
        // Benign has much more tissue than the other class, whose name DeepSlide could not handle.
        Write(input, "benign", "b_1.tif", 2400, 2400, 1, coverage: 0.6);
        Write(input, "benign", "b_2.tif", 2400, 2400, 2, coverage: 0.6);
        Write(input, "lung_adeno.v2", "a.1.tif", 1600, 1200, 3, coverage: 0.3);
        Write(input, "lung_adeno.v2", "a.2.tif", 1600, 1200, 4, coverage: 0.3);
        var extractor = new TrainingPatchExtractor(new PatchExtractionOptions { ValFraction = 0.5, TestFraction = 0, Seed = 1 });
        ExtractionSummary summary = await extractor.ExtractAsync(input, output);

        ClassExtraction benign = summary.Classes.Single(c => c.ClassName == "benign" && c.Part == SplitPart.Train);
        ClassExtraction adeno = summary.Classes.Single(c => c.ClassName == "lung_adeno.v2" && c.Part == SplitPart.Train);
        Assert.Equal(1.0, benign.OverlapFactor);
        Assert.True(adeno.OverlapFactor > 1.5, $"overlap {adeno.OverlapFactor}");
        // Overlap brings the minority close to the majority; copies top up whichever class is short.
        Assert.Equal(benign.Patches + benign.Duplicates, adeno.Patches + adeno.Duplicates);
        Assert.Equal(0, Math.Min(benign.Duplicates, adeno.Duplicates));
        Assert.Equal(Math.Max(benign.Patches, adeno.Patches), benign.Patches + benign.Duplicates);

        string[] benignFiles = Directory.GetFiles(Path.Combine(output, "train", "benign"));
        string[] adenoFiles = Directory.GetFiles(Path.Combine(output, "train", "lung_adeno.v2"));
        Assert.Equal(benignFiles.Length, adenoFiles.Length);
        Assert.Equal(adeno.Duplicates, adenoFiles.Count(f => f.Contains("_dup")));
        Assert.Equal(benign.Duplicates, benignFiles.Count(f => f.Contains("_dup")));
        Assert.All(adenoFiles, f =>
        {
            Assert.True(PatchFileName.TryParse(f, out string slide, out _, out _));
            Assert.Contains(slide, new[] { "a.1", "a.2" });
        });

        // Validation patches are neither overlapped nor duplicated.
        Assert.All(summary.Classes.Where(c => c.Part == SplitPart.Val), c => Assert.Equal((1.0, 0), (c.OverlapFactor, c.Duplicates)));
        string[] manifest = File.ReadAllLines(Path.Combine(output, "patches.csv"));
        Assert.Equal("split,class,slide,x,y,tissue,file", manifest[0]);
        Assert.Equal(summary.Classes.Sum(c => c.Patches + c.Duplicates), manifest.Length - 1);
        Assert.Equal(5, File.ReadAllLines(Path.Combine(output, "slides.csv")).Length);
    }

    [Fact]
    public async Task Every_extracted_patch_passes_DeepSlides_purple_rule()
    {
        using var temp = new TempFolder();
        Write(temp["in"], "benign", "b1.tif", 1500, 1200, 5);
        Write(temp["in"], "squamous", "s1.tif", 1500, 1200, 6);
        var extractor = new TrainingPatchExtractor(new PatchExtractionOptions { ValFraction = 0, TestFraction = 0 });
        ExtractionSummary summary = await extractor.ExtractAsync(temp["in"], temp["out"]);
        foreach (string file in Directory.GetFiles(temp["out"], "*.jpg", SearchOption.AllDirectories))
        {
            Imaging.RgbImage patch = Slides.ImageFiles.Load(file);
            Assert.Equal((224, 224), (patch.Width, patch.Height));
            // JPEG shifts colours slightly; the purple count stays well above the threshold.
            Assert.True(PurpleRule.CountPurpleCells(patch.Pixels, 224) > 90, file);
        }

        Assert.True(summary.Classes.All(c => c.Patches > 0));
    }

    [Fact]
    public async Task A_class_without_tissue_is_an_error_naming_it()
    {
        using var temp = new TempFolder();
        Write(temp["in"], "benign", "b1.tif", 1200, 1200, 5);
        Write(temp["in"], "squamous", "blank.tif", 1200, 1200, 6, coverage: 0);
        var extractor = new TrainingPatchExtractor(new PatchExtractionOptions { ValFraction = 0, TestFraction = 0 });
        var ex = await Assert.ThrowsAsync<DeepSlideException>(() => extractor.ExtractAsync(temp["in"], temp["out"]));
        Assert.Equal(DeepSlideErrorReason.NoTissue, ex.Reason);
        Assert.Contains("'squamous'", ex.Message);
    }

    [Fact]
    public async Task A_corrupt_slide_in_the_data_set_stops_extraction_with_its_name()
    {
        using var temp = new TempFolder();
        Write(temp["in"], "benign", "b1.tif", 1200, 1200, 5);
        Directory.CreateDirectory(temp["in/squamous"]);
        File.WriteAllText(temp["in/squamous/s1.tif"], "not a tiff");
        var extractor = new TrainingPatchExtractor(new PatchExtractionOptions { ValFraction = 0, TestFraction = 0, Tiling = new TilingOptions() });
        var ex = await Assert.ThrowsAsync<DeepSlideException>(() => extractor.ExtractAsync(temp["in"], temp["out"]));
        Assert.Equal(temp["in/squamous/s1.tif"], ex.Path);
    }
}
