using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;

namespace DeepSlide.Datasets.Tests;

public class SlideDatasetTests
{
    private static void Slide(string folder, string className, string name)
    {
        Directory.CreateDirectory(Path.Combine(folder, className));
        File.WriteAllBytes(Path.Combine(folder, className, name), [1]);
    }

    [Fact]
    public void Classes_are_the_sorted_folder_names_and_unused_entries_are_listed_not_hidden()
    {
        using var temp = new TempFolder();
        Slide(temp.Path, "squamous", "s1.svs");
        Slide(temp.Path, "benign", "b1.tif");
        Slide(temp.Path, "benign", "b2.jpg");
        Slide(temp.Path, ".cache", "x.svs");
        File.WriteAllText(temp["benign/readme.txt"], "notes");
        File.WriteAllText(temp["labels.csv"], "img,gt");
        SlideDataset dataset = SlideDataset.Scan(temp.Path);
        Assert.Equal(["benign", "squamous"], dataset.Classes);
        Assert.Equal(["b1", "b2", "s1"], dataset.Slides.Select(s => s.Name));
        Assert.Equal([temp[".cache"], temp["benign/readme.txt"]], dataset.Ignored.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Class_and_slide_names_with_underscores_and_dots_are_kept_whole()
    {
        using var temp = new TempFolder();
        Slide(temp.Path, "lung_adeno.v2", "case_12.b.svs");
        Slide(temp.Path, "normal_lung", "case_7.svs");
        SlideDataset dataset = SlideDataset.Scan(temp.Path);
        Assert.Equal(["lung_adeno.v2", "normal_lung"], dataset.Classes);
        Assert.Equal(("case_12.b", "lung_adeno.v2"), (dataset.Slides[0].Name, dataset.Slides[0].ClassName));
    }

    [Fact]
    public void An_empty_class_folder_is_named()
    {
        using var temp = new TempFolder();
        Slide(temp.Path, "benign", "b1.svs");
        Directory.CreateDirectory(temp["squamous"]);
        File.WriteAllText(temp["squamous/notes.txt"], "x");
        var ex = Assert.Throws<DeepSlideException>(() => SlideDataset.Scan(temp.Path));
        Assert.Equal(DeepSlideErrorReason.InvalidDataset, ex.Reason);
        Assert.Equal(temp["squamous"], ex.Path);
        Assert.Contains("holds no slides", ex.Message);
    }

    [Fact]
    public void A_single_class_is_refused()
    {
        using var temp = new TempFolder();
        Slide(temp.Path, "benign", "b1.svs");
        var ex = Assert.Throws<DeepSlideException>(() => SlideDataset.Scan(temp.Path));
        Assert.Contains("single class, 'benign'", ex.Message);
    }

    [Fact]
    public void A_folder_without_class_folders_or_that_does_not_exist_is_refused()
    {
        using var temp = new TempFolder();
        File.WriteAllBytes(temp["loose.svs"], [1]);
        Assert.Contains("no class subfolders", Assert.Throws<DeepSlideException>(() => SlideDataset.Scan(temp.Path)).Message);
        Assert.Equal(DeepSlideErrorReason.FileNotFound, Assert.Throws<DeepSlideException>(() => SlideDataset.Scan(temp["missing"])).Reason);
    }

    [Fact]
    public void The_same_slide_name_in_two_classes_is_refused()
    {
        using var temp = new TempFolder();
        Slide(temp.Path, "benign", "case1.svs");
        Slide(temp.Path, "squamous", "case1.tif");
        Assert.Contains("appears 2 times", Assert.Throws<DeepSlideException>(() => SlideDataset.Scan(temp.Path)).Message);
    }

    [Fact]
    public void The_split_is_by_slide_per_class_and_reproducible()
    {
        using var temp = new TempFolder();
        foreach (string c in new[] { "a", "b" })
        {
            for (int i = 0; i < 10; i++)
            {
                Slide(temp.Path, c, $"{c}{i}.svs");
            }
        }

        SlideDataset dataset = SlideDataset.Scan(temp.Path);
        IReadOnlyList<SplitSlide> split = DatasetSplit.Split(dataset, 0.2, 0.3, seed: 4);
        foreach (string c in dataset.Classes)
        {
            var parts = split.Where(s => s.Slide.ClassName == c).GroupBy(s => s.Part).ToDictionary(g => g.Key, g => g.Count());
            Assert.Equal((5, 2, 3), (parts[SplitPart.Train], parts[SplitPart.Val], parts[SplitPart.Test]));
        }

        Assert.Equal(split, DatasetSplit.Split(dataset, 0.2, 0.3, seed: 4));
        // The same in every process, not just within this one.
        Assert.Equal(["a9", "a7", "a8"], split.Where(s => s.Slide.ClassName == "a" && s.Part == SplitPart.Test).Select(s => s.Slide.Name));
        static string Assignment(IEnumerable<SplitSlide> parts) => string.Join(",", parts.OrderBy(s => s.Slide.Name).Select(s => s.Part));
        Assert.NotEqual(Assignment(split), Assignment(DatasetSplit.Split(dataset, 0.2, 0.3, seed: 5)));
    }

    [Fact]
    public void A_class_with_too_few_slides_for_the_split_is_named()
    {
        using var temp = new TempFolder();
        Slide(temp.Path, "a", "a1.svs");
        Slide(temp.Path, "a", "a2.svs");
        Slide(temp.Path, "b", "b1.svs");
        Slide(temp.Path, "b", "b2.svs");
        Slide(temp.Path, "b", "b3.svs");
        var ex = Assert.Throws<DeepSlideException>(() => DatasetSplit.Split(SlideDataset.Scan(temp.Path), 0.2, 0.2, 0));
        Assert.Equal(temp["a"], ex.Path);
        Assert.Contains("class 'a' has 2 slide(s); at least 3 are needed", ex.Message);
    }

    [Theory]
    [InlineData("case_12.b_448_672.jpg", "case_12.b", 448, 672)]
    [InlineData("s_0_0_dup3.jpg", "s", 0, 0)]
    [InlineData("a_1_2_3.png", "a_1", 2, 3)]
    public void Patch_file_names_parse_from_the_end(string file, string slide, long x, long y)
    {
        Assert.True(PatchFileName.TryParse(file, out string s, out long px, out long py));
        Assert.Equal((slide, x, y), (s, px, py));
        Assert.False(PatchFileName.TryParse("nocoords.jpg", out _, out _, out _));
    }
}
