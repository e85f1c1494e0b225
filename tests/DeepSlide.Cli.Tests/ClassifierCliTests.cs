namespace DeepSlide.Cli.Tests;

public sealed class ClassifierCliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-cli-model-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string In(string relative) => Path.Combine(_folder, relative);

    [Fact]
    public async Task Train_tune_and_classify_a_folder_with_one_corrupt_and_one_impossibly_large_slide()
    {
        Assert.Equal(0, (await CliRun.RunAsync("synth", "-o", In("slides"), "--slides-per-class", "2", "--width", "1400", "--height", "1100", "--format", "aperio")).ExitCode);
        Assert.Equal(0, (await CliRun.RunAsync("tiles", "-i", In("slides"), "-o", In("patches"), "--val", "0.5", "--test", "0")).ExitCode);
        CliResult train = await CliRun.RunAsync("train", "-p", In("patches"), "-o", In("model"), "--epochs", "20");
        Assert.True(train.ExitCode == 0, train.Error);
        Assert.Contains("trained on", train.Output);
        Assert.True(File.Exists(In("model/model.onnx")) && File.Exists(In("model/manifest.json")) && File.Exists(In("model/training-log.csv")));

        CliResult tune = await CliRun.RunAsync("tune", "-m", In("model"), "-s", In("patches/slides.csv"));
        Assert.True(tune.ExitCode == 0, tune.Error);
        Assert.Contains("learned aggregator not trained: the learned aggregator needs at least 3 validation slides per class", tune.Output);
        Assert.Contains("\"minShare\"", File.ReadAllText(In("model/manifest.json")));

        // int8 is measured against FP32 on the validation patches: refused over the margin (here any loss short of
        // gaining 100 points), leaving nothing behind; written with its cost in the manifest otherwise.
        CliResult refused = await CliRun.RunAsync("quantize", "-m", In("model"), "-o", In("int8-strict"), "--calibration", In("patches"), "--samples", "24", "--refit-samples", "0", "--max-loss", "-100");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"error: {In("int8-strict")}: not written: the int8 model loses", refused.Error);
        Assert.Contains("more than --max-loss -100.0", refused.Error);
        Assert.False(Directory.Exists(In("int8-strict")) || Directory.Exists(In("int8-strict.checking")));
        CliResult quantized = await CliRun.RunAsync("quantize", "-m", In("model"), "-o", In("int8"), "--calibration", In("patches"), "--samples", "24", "--refit-samples", "24", "--slides", In("patches/slides.csv"), "--max-loss", "100", "--force");
        Assert.True(quantized.ExitCode == 0, quantized.Error);
        Assert.Matches(@"int8 check, FP32 head: on \d+ check patches it gives the source model's class to .*on 3 validation slides it changes \d+ slide call\(s\)", quantized.Output);
        Assert.Matches(@"int8 check, head re-fitted on 24 patches: on \d+ check patches it gives the source model's class to .*on 3 validation slides it changes \d+ slide call\(s\)", quantized.Output);
        Assert.Contains("\"cost\"", File.ReadAllText(In("int8/manifest.json")));
        Assert.Matches("\"headRefitSamples\": (0|24)", File.ReadAllText(In("int8/manifest.json")));
        CliResult classifyInt8 = await CliRun.RunAsync("classify", "-m", In("int8"), "-i", Directory.GetFiles(In("slides/squamous"), "*.svs")[0], "-o", In("results-int8"), "--pictures", "false");
        Assert.True(classifyInt8.ExitCode == 0, classifyInt8.Error);
        Assert.Contains("int8 model: on ", classifyInt8.Output);

        Directory.CreateDirectory(In("to-classify"));
        foreach (string slide in Directory.GetFiles(In("slides"), "*.svs", SearchOption.AllDirectories))
        {
            File.Copy(slide, In($"to-classify/{Path.GetFileName(slide)}"));
        }

        File.WriteAllText(In("to-classify/broken.svs"), "not a slide");
        File.WriteAllBytes(In("to-classify/huge.tif"), DeepSlide.Tests.Shared.TiffBuilder.Tiled(1_000_000, 1_000_000));
        CliResult classify = await CliRun.RunAsync("classify", "-m", In("model"), "-i", In("to-classify"), "-o", In("results"));
        Assert.Equal(2, classify.ExitCode);
        Assert.Contains("learned    not available: the learned aggregator needs at least 3 validation slides per class", classify.Output);
        Assert.Contains($"error: {In("to-classify/broken.svs")}: ", classify.Error);
        Assert.Contains($"error: {In("to-classify/huge.tif")}: the slide is 1,000,000 x 1,000,000 px", classify.Error);
        Assert.Equal(2, classify.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        string[] rows = File.ReadAllLines(In("results/slides.csv"));
        Assert.Equal("img,predicted,percent_adenocarcinoma,percent_benign,percent_squamous,count_adenocarcinoma,count_benign,count_squamous", rows[0]);
        Assert.Equal(9, rows.Length);
        Assert.StartsWith("broken.svs,failed,", rows.Single(r => r.StartsWith("broken", StringComparison.Ordinal)));
        Assert.StartsWith("huge.tif,failed,", rows.Single(r => r.StartsWith("huge", StringComparison.Ordinal)));
        Assert.Equal(8, Directory.GetFiles(In("results"), "*.json").Length);
        string failure = File.ReadAllText(In("results/broken.json"));
        Assert.Contains("\"status\": \"failed\"", failure);
        Assert.Contains("\"error\":", failure);
        Assert.Equal(6, Directory.GetFiles(In("results/overlays"), "*.png").Length);
        Assert.Equal(6, Directory.GetFiles(In("results/qupath"), "*.geojson").Length);

        CliResult evaluate = await CliRun.RunAsync("evaluate", "-r", In("results"), "-l", In("slides/labels.csv"), "-o", In("report"), "--bootstrap", "100");
        Assert.True(evaluate.ExitCode == 0, evaluate.Error);
        Assert.Contains("majority   accuracy", evaluate.Output);
        foreach (string file in new[] { "report.html", "report.md", "report.json", "plots/confusion-majority.png" })
        {
            Assert.True(File.Exists(In($"report/{file}")), file);
        }

        // The corrupt slide has no label, so it is listed, not evaluated.
        Assert.Contains("**With a result but no label (not evaluated):** broken", File.ReadAllText(In("report/report.md")));

        string camSlide = Directory.GetFiles(In("slides/squamous"), "*.svs")[0];
        CliResult cam = await CliRun.RunAsync("cam", "-m", In("model"), "-s", camSlide, "-o", In("cam"), "-k", "1");
        Assert.True(cam.ExitCode == 0, cam.Error);
        Assert.NotEmpty(Directory.GetFiles(In("cam"), "*.png"));
        Assert.Equal(6, Directory.GetFiles(In("results/patches"), "*.parquet").Length);
    }

    [Fact]
    public async Task Class_and_slide_names_with_commas_and_quotes_round_trip_through_tiles_tune_classify_and_evaluate()
    {
        Assert.Equal(0, (await CliRun.RunAsync("synth", "-o", In("synth"), "--slides-per-class", "2", "--width", "1400", "--height", "1100", "--format", "aperio")).ExitCode);
        var renamed = new Dictionary<string, string> { ["adenocarcinoma"] = "adeno, NOS", ["benign"] = "benign \"normal\"", ["squamous"] = "squamous" };
        var labels = new List<(string Slide, string Class)>();
        foreach ((string from, string to) in renamed)
        {
            Directory.CreateDirectory(In($"slides/{to}"));
            foreach (string slide in Directory.GetFiles(In($"synth/{from}"), "*.svs"))
            {
                string name = $"case, {Path.GetFileNameWithoutExtension(slide)} \"x\".svs";
                File.Copy(slide, In($"slides/{to}/{name}"));
                labels.Add((name, to));
            }
        }

        static string Quote(string value) => $"\"{value.Replace("\"", "\"\"")}\"";
        File.WriteAllLines(In("labels.csv"), ["img,gt", .. labels.Select(l => $"{Quote(l.Slide)},{Quote(l.Class)}")]);

        Assert.Equal(0, (await CliRun.RunAsync("tiles", "-i", In("slides"), "-o", In("patches"), "--val", "0.5", "--test", "0")).ExitCode);
        CliResult train = await CliRun.RunAsync("train", "-p", In("patches"), "-o", In("model"), "--epochs", "3");
        Assert.True(train.ExitCode == 0, train.Error);
        CliResult tune = await CliRun.RunAsync("tune", "-m", In("model"), "-s", In("patches/slides.csv"));
        Assert.True(tune.ExitCode == 0, tune.Error);
        CliResult classify = await CliRun.RunAsync("classify", "-m", In("model"), "-i", In("slides"), "-o", In("results"), "--pictures", "false");
        Assert.True(classify.ExitCode == 0, classify.Error);
        CliResult evaluate = await CliRun.RunAsync("evaluate", "-r", In("results"), "-l", In("labels.csv"), "-o", In("report"), "--bootstrap", "50");
        Assert.True(evaluate.ExitCode == 0, evaluate.Error);

        // Every table reads back, quoted fields whole, with a CSV parser the product does not use (the BCL's
        // TextFieldParser), not a split on commas. The header row is left out.
        static List<string[]> Rows(string path)
        {
            using var parser = new Microsoft.VisualBasic.FileIO.TextFieldParser(path) { TextFieldType = Microsoft.VisualBasic.FileIO.FieldType.Delimited, HasFieldsEnclosedInQuotes = true };
            parser.SetDelimiters(",");
            var rows = new List<string[]>();
            while (!parser.EndOfData)
            {
                rows.Add(parser.ReadFields()!);
            }

            return rows.Skip(1).ToList();
        }

        Assert.Equal(labels.Select(l => l.Slide[..^4]).Order(), Rows(In("patches/slides.csv")).Select(r => r[0]).Order());
        Assert.Equal(labels.Select(l => l.Class).Order(), Rows(In("patches/slides.csv")).Select(r => r[1]).Order());
        Assert.Contains(Rows(In("patches/patches.csv")), r => r[1] == "adeno, NOS" && r[2].StartsWith("case, ", StringComparison.Ordinal));
        List<string[]> classified = Rows(In("results/slides.csv"));
        Assert.Equal(labels.Select(l => l.Slide).Order(), classified.Select(r => r[0]).Order());
        Assert.All(classified, r => Assert.Equal(2 + (2 * renamed.Count), r.Length));
        Assert.Contains("percent_adeno, NOS", File.ReadLines(In("results/slides.csv")).First());
        Assert.Contains("benign \"normal\"", File.ReadAllText(In("report/report.md")));
        Assert.DoesNotContain("not evaluated", File.ReadAllText(In("report/report.md")));
    }

    [Fact]
    public async Task Classify_with_a_folder_that_is_not_a_bundle_names_it()
    {
        Directory.CreateDirectory(In("empty-model"));
        CliResult result = await CliRun.RunAsync("classify", "-m", In("empty-model"), "-i", In("nowhere.svs"), "-o", In("out"));
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {In("empty-model")}: the model bundle has no manifest.json.", result.Error.Trim());
    }

    [Fact]
    public async Task Train_without_extracted_patches_says_what_to_run()
    {
        Directory.CreateDirectory(In("no-patches"));
        CliResult result = await CliRun.RunAsync("train", "-p", In("no-patches"), "-o", In("model"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("there is no train/ folder; run 'deepslide tiles' first", result.Error);
    }

    [Fact]
    public async Task Refinement_makes_weak_slide_labels_true_patch_labels_on_held_out_mixed_slides()
    {
        string[] size = ["--width", "1800", "--height", "1400", "--format", "aperio", "--mixed"];
        Assert.Equal(0, (await CliRun.RunAsync(["synth", "-o", In("slides"), "--slides-per-class", "4", "--seed", "5", .. size])).ExitCode);
        Assert.Equal(0, (await CliRun.RunAsync(["synth", "-o", In("test"), "--slides-per-class", "2", "--seed", "6", .. size])).ExitCode);
        Assert.Equal(0, (await CliRun.RunAsync("tiles", "-i", In("slides"), "-o", In("patches"), "--val", "0.5", "--test", "0", "--seed", "1")).ExitCode);
        CliResult train = await CliRun.RunAsync("train", "-p", In("patches"), "-o", In("model"), "--seed", "1");
        Assert.True(train.ExitCode == 0, train.Error);
        double weak = await PatchAccuracyAsync("weak");

        Assert.Equal(0, (await CliRun.RunAsync("train-mil", "-m", In("model"), "-s", In("patches/slides.csv"))).ExitCode);
        CliResult refine = await CliRun.RunAsync("refine", "-m", In("model"), "-s", In("patches/slides.csv"));
        Assert.True(refine.ExitCode == 0, refine.Error);
        Assert.Contains("round 1 adenocarcinoma   attention cut-offs", refine.Output);
        Assert.Contains("round 2 squamous         head log-odds cut-offs", refine.Output);
        string[] log = File.ReadAllLines(In("model/refinement-log.csv"));
        Assert.Equal("round,class,score,cut_high,cut_low,slides,train_patches,kept_class,kept_normal,left_out", log[0]);
        Assert.Equal(4, log.Length - 1);
        Assert.Contains("\"refinementRound\": 2", File.ReadAllText(In("model/manifest.json")));
        double refined = await PatchAccuracyAsync("refined");

        // Against the region truth, not the slide labels the head was trained on.
        // Measured with the same commands: 0.669 with weak labels, 0.821 refined (0.848 with MIL trained without the
        // instance loss); on the larger set of scripts/patch-labels.sh 0.870 refined (0.835 without it).
        Assert.True(refined >= weak + 0.08 && refined >= 0.78, $"patch accuracy against regions: weak labels {weak:0.000}, refined {refined:0.000}");
    }

    private async Task<double> PatchAccuracyAsync(string name)
    {
        Assert.Equal(0, (await CliRun.RunAsync("tune", "-m", In("model"), "-s", In("patches/slides.csv"))).ExitCode);
        Assert.Equal(0, (await CliRun.RunAsync("classify", "-m", In("model"), "-i", In("test"), "-o", In($"results-{name}"), "--pictures", "false")).ExitCode);
        CliResult evaluate = await CliRun.RunAsync(
            "evaluate", "-r", In($"results-{name}"), "-l", In("test/labels.csv"), "-o", In($"report-{name}"), "--annotations", In("test-truth/annotations"), "--outside", "benign", "--bootstrap", "50");
        Assert.True(evaluate.ExitCode == 0, evaluate.Error);
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(In($"report-{name}/report.json")));
        return report.RootElement.GetProperty("regions").GetProperty("metrics").GetProperty("accuracy").GetDouble();
    }
}
