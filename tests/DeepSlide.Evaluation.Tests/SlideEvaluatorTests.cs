using DeepSlide.Results;

namespace DeepSlide.Evaluation.Tests;

public sealed class SlideEvaluatorTests : IDisposable
{
    private static readonly string[] Classes = ["benign", "tumour"];
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-eval-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static SlideResultFile Result(string slide, string? majority, double tumourScore, params string[] patchPredictions) => new(
        slide,
        majority is null ? "no tissue" : "classified",
        Classes,
        [
            new SlideCallFile("majority", majority, new Dictionary<string, double> { ["benign"] = 1 - tumourScore, ["tumour"] = tumourScore }, null),
            new SlideCallFile("mean", tumourScore > 0.5 ? "tumour" : "benign", new Dictionary<string, double> { ["benign"] = 1 - tumourScore, ["tumour"] = tumourScore }, null),
        ],
        patchPredictions.Select((p, i) => new PatchFile(i * 224, 0, p, 0.9, p == "tumour" ? [0.1, 0.9] : [0.9, 0.1])).ToList(),
        null);

    private SlideLabels Labels(string csv)
    {
        string path = Path.Combine(_folder, $"labels-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, csv);
        return SlideLabels.Read(path);
    }

    [Fact]
    public void Every_method_is_evaluated_side_by_side_and_patches_carry_their_slides_label()
    {
        SlideResultFile[] results =
        [
            Result("s1", "benign", 0.2, "benign", "benign"),
            Result("s2", "tumour", 0.7, "tumour", "benign"),
            Result("s3", "benign", 0.45, "benign"),
            Result("s4", "tumour", 0.9, "tumour", "tumour"),
        ];
        EvaluationReport report = SlideEvaluator.Evaluate(results, Labels("img,gt\ns1.svs,benign\ns2.svs,tumour\ns3.svs,tumour\ns4.svs,tumour\n"));
        Assert.Equal(["majority", "mean"], report.Methods.Select(m => m.Method));
        ClassificationMetrics majority = report.Methods[0].Metrics;
        Assert.Equal(0.75, majority.Accuracy);
        Assert.Equal((1 + 2 / 3.0) / 2, majority.BalancedAccuracy, 12);
        Assert.Equal(1.0, majority.MacroAuc); // the tumour scores rank every tumour slide above the benign one
        Assert.Equal([[1, 0, 0], [1, 2, 0]], majority.Confusion);
        // Patches: s1 2 benign right; s2 1 of 2 right; s3 0 of 1; s4 2 of 2 -> 5 of 7.
        Assert.Equal(5 / 7.0, report.Patches!.Metrics.Accuracy, 12);
    }

    [Fact]
    public void Unmatched_and_unclassified_slides_are_listed_not_dropped_silently()
    {
        SlideResultFile[] results = [Result("s1", "benign", 0.1), Result("s2", null, 0), Result("extra", "tumour", 0.9)];
        EvaluationReport report = SlideEvaluator.Evaluate(results, Labels("img,gt\ns1,benign\ns2,tumour\nmissing.svs,tumour\n"));
        Assert.Equal(["missing"], report.LabelledWithoutResult);
        Assert.Equal(["extra"], report.ResultWithoutLabel);
        Assert.Equal(["s2 (no tissue)"], report.NotClassified);
        Assert.Equal(0.5, report.Methods[0].Metrics.Accuracy); // the unclassified slide counts as wrong
        Assert.Equal(1, report.Methods[0].Metrics.Confusion[1][2]);
        string md = ReportWriter.Markdown(report);
        Assert.Contains("**Labelled but without a result (not evaluated):** missing", md);
        Assert.Contains("**Not classified (counted as wrong):** s2 (no tissue)", md);
    }

    [Fact]
    public void Pathologists_get_accuracy_kappa_and_the_models_rank()
    {
        SlideResultFile[] results = [Result("a", "benign", 0.1), Result("b", "tumour", 0.9), Result("c", "tumour", 0.8), Result("d", "benign", 0.3)];
        // The model is right on all four; reader x misses one, reader y two.
        var labels = Labels("img,gt,x,y\na,benign,benign,tumour\nb,tumour,tumour,tumour\nc,tumour,benign,benign\nd,benign,benign,benign\n");
        EvaluationReport report = SlideEvaluator.Evaluate(results, labels, primaryMethod: "majority");
        Assert.Equal("majority", report.PrimaryMethod);
        Assert.Equal([("x", 0.75), ("y", 0.5)], report.Readers.Select(r => (r.Reader, r.Accuracy)));
        Assert.Equal(0.5, report.Readers[0].KappaWithModel, 12);
        Assert.Equal(report.Readers[0].KappaWithTruth, report.Readers[0].KappaWithModel, 12);
        Assert.Equal(1, report.ModelRankAmongReaders);
    }

    [Fact]
    public void Bootstrap_intervals_appear_in_both_report_files()
    {
        SlideResultFile[] results = Enumerable.Range(0, 40).Select(i => Result($"s{i}", i % 3 == 0 ? "tumour" : "benign", i % 3 == 0 ? 0.8 : 0.2)).ToArray();
        string csv = "img,gt\n" + string.Concat(Enumerable.Range(0, 40).Select(i => $"s{i},{(i % 4 == 0 ? "tumour" : "benign")}\n"));
        EvaluationReport report = SlideEvaluator.Evaluate(results, Labels(csv), new BootstrapOptions(200, Seed: 5));
        Interval ci = report.Methods[0].Metrics.AccuracyInterval!;
        Assert.InRange(report.Methods[0].Metrics.Accuracy, ci.Low, ci.High);
        ReportWriter.Write(report, Path.Combine(_folder, "report"));
        Assert.Contains("\"accuracyInterval\"", File.ReadAllText(Path.Combine(_folder, "report", "report.json")));
        Assert.Contains($"({ci.Low:0.000}-{ci.High:0.000})", File.ReadAllText(Path.Combine(_folder, "report", "report.md")));
    }

    [Fact]
    public void A_single_class_truth_says_auc_is_undefined_instead_of_printing_nan()
    {
        EvaluationReport report = SlideEvaluator.Evaluate([Result("a", "tumour", 0.9), Result("b", "benign", 0.2)], Labels("img,gt\na,tumour\nb,tumour\n"));
        Assert.Null(report.Methods[0].Metrics.MacroAuc);
        string md = ReportWriter.Markdown(report);
        Assert.Contains("**AUC is undefined here:** the ground truth has a single class", md);
        Assert.DoesNotContain("NaN", md);
        Assert.Contains("| undefined |", md);
    }

    [Fact]
    public void Bad_labels_files_are_named_with_the_problem()
    {
        string path = Path.Combine(_folder, "bad.csv");
        File.WriteAllText(path, "");
        Assert.Equal(DeepSlideErrorReason.EmptyFile, Assert.Throws<DeepSlideException>(() => SlideLabels.Read(path)).Reason);
        File.WriteAllText(path, "slide,label\na,b\n");
        Assert.Contains("must start with the header 'img,gt'", Assert.Throws<DeepSlideException>(() => SlideLabels.Read(path)).Message);
        File.WriteAllText(path, "img,gt\na,benign\na.svs,tumour\n");
        Assert.Contains("slide 'a' is labelled twice", Assert.Throws<DeepSlideException>(() => SlideLabels.Read(path)).Message);
        File.WriteAllText(path, "img,gt\na,benign,extra\n");
        Assert.Contains("line 2 has 3 cells", Assert.Throws<DeepSlideException>(() => SlideLabels.Read(path)).Message);
        var ex = Assert.Throws<DeepSlideException>(() => SlideEvaluator.Evaluate([Result("a", "benign", 0.1)], Labels("img,gt\na,lymphoma\n")));
        Assert.Contains("'lymphoma' is not one of the model's classes", ex.Message);
    }

    [Fact]
    public void The_report_says_on_how_many_tumour_slides_the_largest_focus_was_found()
    {
        // Two touching rectangles (one focus of 2 x 224 x 224) and a lone one (a smaller focus) on each tumour slide.
        string annotations = Path.Combine(_folder, "annotations");
        Directory.CreateDirectory(annotations);
        const string Foci = """
            {"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[
            [[[0,0],[224,0],[224,224],[0,224],[0,0]]],[[[224,0],[448,0],[448,224],[224,224],[224,0]]],[[[1120,0],[1344,0],[1344,224],[1120,224],[1120,0]]]]},
            "properties":{"objectType":"annotation","classification":{"name":"tumour"}}}]}
            """;
        File.WriteAllText(Path.Combine(annotations, "found.geojson"), Foci);
        File.WriteAllText(Path.Combine(annotations, "missed.geojson"), Foci);
        var plan = new PlanFile(0, 1, 224, 224);

        // Patches at x = 0, 224, ..., 1120: "found" calls the large focus's second patch tumour; "missed" only the lone one.
        string[] Calls(int tumourAt) => [.. Enumerable.Range(0, 6).Select(i => i == tumourAt ? "tumour" : "benign")];
        SlideResultFile[] results =
        [
            Result("found", "tumour", 0.6, Calls(1)) with { Plan = plan },
            Result("missed", "tumour", 0.6, Calls(5)) with { Plan = plan },
            Result("clean", "benign", 0.1, Calls(-1)) with { Plan = plan },
        ];
        EvaluationReport report = SlideEvaluator.Evaluate(results, Labels("img,gt\nfound,tumour\nmissed,tumour\nclean,benign\n"), regions: new RegionTruth(annotations, "benign"));
        FocusDetection foci = report.Regions!.Foci!;
        Assert.Equal((2, 1, 0.5), (foci.Slides, foci.Found, foci.Rate));
        Assert.Equal(["missed"], foci.Missed);

        ReportWriter.Write(report, Path.Combine(_folder, "report"), null);
        Assert.Contains("**Largest focus found: 1 of 2 slides (50 %)**", File.ReadAllText(Path.Combine(_folder, "report", "report.md")));
    }

    [Fact]
    public async Task Results_written_by_classify_read_back()
    {
        var plan = new Tiling.TilePlan
        {
            SlidePath = "/x/s9.svs", SlideWidth = 500, SlideHeight = 500, Level = 0, LevelDownsample = 1, Downsample = 1, Window = 224, Stride = 224,
            Columns = 2, Rows = 2, TissueMethod = Tissue.TissueMethod.Otsu, MinTissueFraction = 0.25, Tiles = [new Tiling.Tile(0, 0, 0, 0, 0, 1)],
        };
        var result = new Aggregation.SlideResult(
            "/x/s9.svs", Aggregation.SlideStatus.Classified, plan, new Aggregation.PatchProbabilities(Classes, [0.3f, 0.7f]),
            [new Aggregation.SlideCall("majority", "tumour", [0, 1])], "CPU", 1);
        await File.WriteAllTextAsync(Path.Combine(_folder, "s9.json"), ResultFiles.ToJson(result));
        SlideResultFile read = SlideResultReader.ReadFolder(_folder).Single();
        Assert.Equal(("s9", "classified"), (read.Slide, read.Status));
        Assert.Equal("tumour", read.Calls.Single().Label);
        Assert.Equal(1.0, read.Calls.Single().Scores["tumour"]);
        Assert.Equal([0.3, 0.7], read.Patches.Single().Probabilities.Select(p => Math.Round(p, 6)));
    }
}
