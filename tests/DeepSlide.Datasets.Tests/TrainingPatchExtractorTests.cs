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
        Assert.Equal("split,class,slide,x,y,tissue,file,label_source", manifest[0]);
        Assert.All(manifest.Skip(1), line => Assert.EndsWith(",slide", line));
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

    [Fact]
    public async Task An_annotated_slides_patches_take_the_class_of_their_region_and_say_where_the_label_came_from()
    {
        using var temp = new TempFolder();
        string input = temp["slides"], output = temp["patches"], annotations = temp["annotations"];
        // Two mixed squamous slides with their region truth, and two benign slides without annotations.
        foreach ((string cls, int seed) in new[] { ("squamous", 1), ("squamous", 2), ("benign", 3), ("benign", 4) })
        {
            Directory.CreateDirectory(Path.Combine(input, cls));
            var slide = new SyntheticSlide(new SyntheticSlideSpec(cls, 2000, 1500, seed) { BenignFraction = cls == "benign" ? 0 : 0.5, TissueCoverage = 0.6 });
            SyntheticSlideWriter.Write(slide, Path.Combine(input, cls, $"{cls}-{seed}.tif"), SyntheticFormat.Tiff);
            SyntheticTruth.Write(slide, $"{cls}-{seed}", ["benign", "squamous"], Path.GetDirectoryName(annotations)!);
        }

        string annotationFolder = Path.Combine(Path.GetDirectoryName(annotations)!, SyntheticTruth.AnnotationsFolder);
        var extractor = new TrainingPatchExtractor(new PatchExtractionOptions { ValFraction = 0.5, TestFraction = 0, Seed = 1, AnnotationsFolder = annotationFolder, OutsideClass = "benign" });
        ExtractionSummary summary = await extractor.ExtractAsync(input, output);

        Assert.Equal(2, summary.Annotated.Count);
        string[] rows = File.ReadAllLines(Path.Combine(output, "patches.csv")).Skip(1).Where(l => !l.Contains("_dup")).ToArray();
        var bySlide = rows.Select(r => r.Split(',')).GroupBy(c => c[2]).ToDictionary(g => g.Key, g => g.ToList());
        foreach ((string slideName, List<string[]> patches) in bySlide)
        {
            foreach (string[] p in patches)
            {
                if (slideName.StartsWith("benign"))
                {
                    Assert.Equal(("benign", "slide"), (p[1], p[7]));
                }
                else
                {
                    Assert.Contains(p[7], new[] { "annotation", "outside" });
                    Assert.Equal(p[7] == "annotation" ? "squamous" : "benign", p[1]);
                }
            }
        }

        // Against the generator's own truth (not the GeoJSON or its parser): the class drawn at the patch centre agrees
        // with the label for nearly every patch of the mixed slides; a patch's centre can lie just across a border.
        int agree = 0, total = 0;
        foreach (int seed in new[] { 1, 2 })
        {
            var slide = new SyntheticSlide(new SyntheticSlideSpec("squamous", 2000, 1500, seed) { BenignFraction = 0.5, TissueCoverage = 0.6 });
            foreach (string[] p in bySlide.GetValueOrDefault($"squamous-{seed}", []))
            {
                total++;
                agree += slide.ClassAt(long.Parse(p[3]) + 112, long.Parse(p[4]) + 112) == p[1] ? 1 : 0;
            }
        }

        Assert.True(total > 20 && agree >= 0.9 * total, $"{agree} of {total} labels match the class drawn at the patch centre");

        // Both classes come from the mixed slides: their benign tissue is benign, not squamous.
        Assert.Contains(rows, r => r.Contains(",benign,squamous-") && r.EndsWith(",outside"));
        Assert.Contains(rows, r => r.Contains(",squamous,squamous-") && r.EndsWith(",annotation"));
        string[] slides = File.ReadAllLines(Path.Combine(output, "slides.csv"));
        Assert.Equal(ValidationSlides.Header, slides[0]);
        Assert.Contains(slides, l => l.StartsWith("squamous-1,squamous,") && l.Contains(",annotations:squamous-1.geojson,"));
        Assert.Contains(slides, l => l.StartsWith("benign-3,benign,") && l.Contains(",slide,"));
        Assert.Equal(4, ValidationSlides.Read(Path.Combine(output, "slides.csv"), "train").Count + ValidationSlides.Read(Path.Combine(output, "slides.csv"), "val").Count);
    }

    [Fact]
    public async Task Annotations_naming_an_unknown_class_stop_tiling_with_the_file_and_feature()
    {
        using var temp = new TempFolder();
        string input = temp["slides"], annotations = temp["annotations"];
        Write(input, "benign", "b1.tif", 1200, 1000, 1);
        Write(input, "benign", "b2.tif", 1200, 1000, 2);
        Write(input, "squamous", "s1.tif", 1200, 1000, 3);
        Write(input, "squamous", "s2.tif", 1200, 1000, 4);
        Directory.CreateDirectory(annotations);
        File.WriteAllText(Path.Combine(annotations, "s1.geojson"), """[{"type":"Feature","id":"a7","geometry":{"type":"Polygon","coordinates":[[[0,0],[500,0],[500,500],[0,500],[0,0]]]},"properties":{"classification":{"name":"Tumor"}}}]""");
        var extractor = new TrainingPatchExtractor(new PatchExtractionOptions { ValFraction = 0.5, TestFraction = 0, AnnotationsFolder = annotations });
        var ex = await Assert.ThrowsAsync<DeepSlideException>(() => extractor.ExtractAsync(input, temp["patches"]));
        Assert.Equal($"{Path.Combine(annotations, "s1.geojson")}: feature 0 (id 'a7') has class 'Tumor', which is not one of the classes (benign, squamous).", ex.Message);
    }
}
