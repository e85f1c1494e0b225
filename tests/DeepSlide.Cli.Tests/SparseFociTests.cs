using System.Globalization;
using System.Text.RegularExpressions;

namespace DeepSlide.Cli.Tests;

/// <summary>The demo's sparse set, made and trained from annotations once for the tests that use its slides.</summary>
public sealed class SparseDemo : IAsyncLifetime
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("deepslide-sparse-").FullName;

    public string Demo => Path.Combine(Folder, "demo");

    public CliResult Result { get; private set; } = new(-1, string.Empty, string.Empty);

    /// <summary>
    /// The demo's held-out slides (seed 2) and <c>synth --sparse</c> sets made with seeds 3-6, 8 slides per class each, in
    /// one folder with their labels and annotations: 114 slides that nothing trains or tunes on. One set of 18-24 moves
    /// 4-6 points a slide; the targets are asserted over all of them.
    /// </summary>
    public string HeldOut => Path.Combine(Folder, "held-out");

    public string HeldOutAnnotations => Path.Combine(Folder, "held-out-annotations");

    public int HeldOutTumourSlides { get; private set; }

    public async Task InitializeAsync()
    {
        Result = await CliRun.RunAsync("demo", "--sparse", "--slides-per-class", "12", "--held-out-per-class", "6", "-o", Demo);
        if (Result.ExitCode != 0)
        {
            return;
        }

        List<string> sets = [Path.Combine(Demo, "held-out")];
        foreach (int seed in (int[])[3, 4, 5, 6])
        {
            string set = Path.Combine(Folder, $"seed-{seed}");
            CliResult made = await CliRun.RunAsync(
                "synth", "-o", set, "--slides-per-class", "8", "--width", "2400", "--height", "1800", "--format", "aperio", "--sparse",
                "--seed", seed.ToString(CultureInfo.InvariantCulture));
            if (made.ExitCode != 0)
            {
                Result = made;
                return;
            }

            sets.Add(set);
        }

        Directory.CreateDirectory(HeldOutAnnotations);
        List<string> labels = ["img,gt"];
        foreach (string set in sets)
        {
            foreach (string line in File.ReadLines(Path.Combine(set, "labels.csv")).Skip(1))
            {
                string[] cells = line.Split(',');
                string into = Directory.CreateDirectory(Path.Combine(HeldOut, cells[1])).FullName;
                File.Copy(Path.Combine(set, cells[1], cells[0]), Path.Combine(into, cells[0]));
                labels.Add(line);
                HeldOutTumourSlides += cells[1] == "benign" ? 0 : 1;
            }

            foreach (string annotation in Directory.EnumerateFiles(Path.Combine($"{set}-truth", "annotations")))
            {
                File.Copy(annotation, Path.Combine(HeldOutAnnotations, Path.GetFileName(annotation)));
            }
        }

        File.WriteAllLines(Path.Combine(HeldOut, "labels.csv"), labels);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Small tumour foci, end to end: the demo's sparse set (tumour 5-15% of the tissue) made with seed 1, trained on, and
/// called on held-out slides made with other seeds (the fixture's 114, 38 per class), which training and tuning never
/// see. The issue's targets: every aggregator at 0.90 balanced accuracy from annotations; from slide labels, the
/// threshold aggregator and the best aggregator; the largest focus found on 90% of tumour slides.
/// </summary>
public sealed partial class SparseFociTests(SparseDemo demo) : IClassFixture<SparseDemo>
{
    [Fact]
    public async Task From_annotations_every_aggregator_calls_held_out_sparse_slides_right_and_the_largest_focus_is_found_on_at_least_90_percent()
    {
        Assert.True(demo.Result.ExitCode == 0, demo.Result.Error);

        // The demo's own held-out set (seed 2, 18 slides). Majority needs a least share below 0.05: two tumour patches
        // of 42 are 0.048.
        Dictionary<string, int> right = SlidesRight().Matches(demo.Result.Output).ToDictionary(m => m.Groups[1].Value, m => Int(m.Groups[2]));
        foreach (string method in (string[])["threshold", "majority"])
        {
            Assert.True(right.TryGetValue(method, out int n), demo.Result.Output);
            Assert.True(n / 18.0 >= 0.90, $"{method} called {n} of 18 held-out sparse slides right");
        }

        Match foci = DemoFociFound().Match(demo.Result.Output);
        Assert.True(foci.Success, demo.Result.Output);
        Assert.Equal(12, Int(foci.Groups[2]));
        Assert.True(Int(foci.Groups[1]) >= 11, demo.Result.Output);

        HeldOutScores scores = await ScoreHeldOutAsync(Path.Combine(demo.Demo, "model"), Path.Combine(demo.Folder, "annotations"));
        Assert.Equal(["learned", "majority", "mean", "threshold"], scores.Balanced.Keys.Order());
        Assert.All(scores.Balanced, score => Assert.True(score.Value >= 0.90, $"{score.Key}: {scores.Output}"));
        scores.AssertFociFound(demo.HeldOutTumourSlides);
    }

    /// <summary>
    /// The same slides with their slide labels only: every patch of a tumour slide starts as tumour, so the patch map is
    /// mostly wrong until <c>refine</c> relabels the training patches from the model's own confident calls. Without
    /// <c>refine</c> the threshold aggregator called 83 of the 114 (0.728, measured by <c>scripts/sparse-foci.sh</c>), so
    /// this fails on a pipeline without it.
    /// </summary>
    [Fact]
    public async Task From_slide_labels_refined_the_threshold_aggregator_and_the_best_aggregator_call_held_out_sparse_slides_right_and_find_the_largest_focus()
    {
        Assert.True(demo.Result.ExitCode == 0, demo.Result.Error);
        string work = Path.Combine(demo.Folder, "slide-labels"), patches = Path.Combine(work, "patches"), model = Path.Combine(work, "model");
        string slides = Path.Combine(patches, "slides.csv");
        foreach (string[] step in (string[][])[
            ["tiles", "-i", Path.Combine(demo.Demo, "slides"), "-o", patches, "--val", "0.5", "--test", "0", "--seed", "1"],
            ["train", "-p", patches, "-o", model, "--seed", "1"],
            ["train-mil", "-m", model, "-s", slides],
            ["refine", "-m", model, "-s", slides],
            ["tune", "-m", model, "-s", slides]])
        {
            CliResult done = await CliRun.RunAsync(step);
            Assert.True(done.ExitCode == 0, $"{step[0]}: {done.Error}");
        }

        HeldOutScores scores = await ScoreHeldOutAsync(model, work);
        Assert.Equal(["learned", "majority", "mean", "mil", "threshold"], scores.Balanced.Keys.Order());
        Assert.True(scores.Balanced["threshold"] >= 0.90, scores.Output);
        Assert.True(scores.Balanced.Values.Max() >= 0.90, scores.Output);
        scores.AssertFociFound(demo.HeldOutTumourSlides);
    }

    private async Task<HeldOutScores> ScoreHeldOutAsync(string model, string work)
    {
        string results = Path.Combine(work, "held-out-results");
        CliResult classified = await CliRun.RunAsync("classify", "-m", model, "-i", demo.HeldOut, "-o", results, "--pictures", "false");
        Assert.True(classified.ExitCode == 0, classified.Error);
        CliResult evaluated = await CliRun.RunAsync(
            "evaluate", "-r", results, "-l", Path.Combine(demo.HeldOut, "labels.csv"), "-o", Path.Combine(work, "held-out-report"),
            "--annotations", demo.HeldOutAnnotations, "--outside", "benign", "--bootstrap", "10");
        Assert.True(evaluated.ExitCode == 0, evaluated.Error);

        Match foci = EvaluateFociFound().Match(evaluated.Output);
        Assert.True(foci.Success, evaluated.Output);
        return new HeldOutScores(
            BalancedAccuracy().Matches(evaluated.Output).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)),
            Int(foci.Groups[1]), Int(foci.Groups[2]), evaluated.Output);
    }

    private sealed record HeldOutScores(Dictionary<string, double> Balanced, int FociFound, int TumourSlides, string Output)
    {
        public void AssertFociFound(int tumourSlides)
        {
            Assert.Equal(tumourSlides, TumourSlides);
            Assert.True(FociFound / (double)TumourSlides >= 0.90, $"the largest focus was found on {FociFound} of {TumourSlides} held-out tumour slides");
        }
    }

    private static int Int(Group group) => int.Parse(group.Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(\w+) +(\d+)/18 held-out slides right", RegexOptions.Multiline)]
    private static partial Regex SlidesRight();

    [GeneratedRegex(@"largest tumour focus found on (\d+) of (\d+) held-out tumour slides")]
    private static partial Regex DemoFociFound();

    [GeneratedRegex(@"^(\w+) +accuracy [\d.]+ +balanced ([\d.]+)", RegexOptions.Multiline)]
    private static partial Regex BalancedAccuracy();

    [GeneratedRegex(@"largest focus found: (\d+) of (\d+) slides with annotated tumour")]
    private static partial Regex EvaluateFociFound();
}
