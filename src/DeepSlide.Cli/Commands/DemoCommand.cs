using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Datasets;
using DeepSlide.Inference;
using DeepSlide.Results;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Training;

namespace DeepSlide.Cli.Commands;

/// <summary>The whole method end to end on synthetic data: synthesize, tile, train, tune, classify held-out slides.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "Working folder (replaced).", DefaultValueFactory = _ => Path.Combine("out", "demo") };
        var perClass = new Option<int>("--slides-per-class") { Description = "Training slides per class (half go to validation).", DefaultValueFactory = _ => 6 };
        var heldOut = new Option<int>("--held-out-per-class") { Description = "Held-out slides per class, synthesized with another seed.", DefaultValueFactory = _ => 3 };
        var sparse = new Option<bool>("--sparse") { Description = "Tumour slides hold only 5-15% tumour (small foci) instead of 20-60%." };
        var inference = new InferenceOptionSet();
        var command = new Command("demo", "Synthesize labelled slides, extract patches, train, tune, and classify held-out slides; print the slide results.") { output, perClass, heldOut, sparse };
        inference.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string root = parse.GetValue(output)!;
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }

            var watch = Stopwatch.StartNew();
            var synth = new SyntheticDatasetOptions
            {
                SlidesPerClass = parse.GetValue(perClass), Width = 2400, Height = 1800, Format = SyntheticFormat.Aperio, Seed = 1, Mixed = !parse.GetValue(sparse), Sparse = parse.GetValue(sparse),
                TruthFolder = Path.Combine(root, "slides-truth"),
            };
            Step($"1/6 synthesize labelled {(synth.Sparse ? "sparse slides (tumour 5-15%" : "mixed slides (tumour 20-60%")} of the tissue, seed 1) with region annotations, and held-out slides (seed 2)");
            SyntheticDataset.Write(Path.Combine(root, "slides"), synth);
            var heldOutSlides = SyntheticDataset.Write(Path.Combine(root, "held-out"), synth with { SlidesPerClass = parse.GetValue(heldOut), Seed = 2, TruthFolder = Path.Combine(root, "held-out-truth") });

            Step("2/6 extract balanced training patches labelled from the region annotations, split by slide");
            await new TrainingPatchExtractor(new PatchExtractionOptions
            {
                ValFraction = 0.5, TestFraction = 0, Seed = 1, AnnotationsFolder = Path.Combine(root, "slides-truth", SyntheticTruth.AnnotationsFolder), OutsideClass = "benign",
            }).ExtractAsync(Path.Combine(root, "slides"), Path.Combine(root, "patches"), Console.WriteLine, cancellationToken);

            Step("3/6 train the patch classifier");
            TrainingResult trained = new PatchClassifierTrainer(new TrainingOptions { Seed = 1, Inference = inference.Read(parse) })
                .Train(Path.Combine(root, "patches"), Path.Combine(root, "model"), line => { if (!line.StartsWith("epoch", StringComparison.Ordinal) && !line.Contains("features:")) { Console.WriteLine(line); } });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{trained.Log.Count} epochs, best validation patch accuracy {trained.ValAccuracy:P1}"));

            Step("4/6 tune the slide aggregators on the validation slides");
            ModelBundle bundle = trained.Bundle;
            using (PatchClassifier tuningClassifier = PatchClassifier.Load(bundle, inference.Read(parse)))
            {
                var validation = await TuneCommand.ClassifyValidationAsync(ValidationSlides.Read(Path.Combine(root, "patches", "slides.csv")), tuningClassifier, cancellationToken);
                (var tuned, string report) = TuneCommand.Tune(bundle.Manifest, validation);
                bundle = bundle.WithManifest(tuned);
                Console.Write(report);
            }

            Step("5/6 classify the held-out slides");
            using PatchClassifier classifier = PatchClassifier.Load(bundle, inference.Read(parse));
            IReadOnlyList<ISlideAggregator> aggregators = Aggregators.FromManifest(bundle.Manifest);
            string results = Path.Combine(root, "results");
            var classified = await ClassifyCommand.ClassifyAllAsync(heldOutSlides.Select(s => s.Path).ToList(), classifier, aggregators, results, cancellationToken, new Visualization.PictureOptions { Size = 1200 });
            await File.WriteAllTextAsync(Path.Combine(results, "slides.csv"), ResultFiles.SlideCsv(classified, bundle.Manifest.Classes), cancellationToken);
            ClassifyCommand.PrintTable(classified, aggregators);

            var truth = heldOutSlides.ToDictionary(s => s.Path, s => s.ClassName);
            Console.WriteLine();
            foreach (ISlideAggregator a in aggregators)
            {
                int right = classified.Count(r => r.Call(a.Name)?.Label == truth[r.SlidePath]);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{a.Name,-10} {right}/{classified.Count} held-out slides right ({right / (double)classified.Count:P0})"));
            }

            Step("6/6 evaluate against the slide labels and, patch by patch, against the region truth: metrics with bootstrap intervals, plots and the HTML report");
            var evaluation = Evaluation.SlideEvaluator.Evaluate(
                SlideResultReader.ReadFolder(results),
                Evaluation.SlideLabels.Read(Path.Combine(root, "held-out", "labels.csv")),
                new Evaluation.BootstrapOptions(1000),
                regions: new Evaluation.RegionTruth(Path.Combine(root, "held-out-truth", SyntheticTruth.AnnotationsFolder), "benign"));
            Evaluation.ReportWriter.Write(evaluation, Path.Combine(root, "report"), results);
            if (evaluation.Regions is { } regions)
            {
                var m = regions.Metrics;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"patch accuracy against the region truth: {m.Accuracy:0.000} (95% CI {m.AccuracyInterval?.Low:0.000}-{m.AccuracyInterval?.High:0.000}), balanced {m.BalancedAccuracy:0.000}, on {m.Count} held-out patches"));
                if (regions.Foci is { } foci)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"largest tumour focus found on {foci.Found} of {foci.Slides} held-out tumour slides"));
                }
            }

            Console.WriteLine($"report: {Path.Combine(root, "report", "report.html")}");

            int patches = classified.Sum(r => r.Patches.Count);
            double seconds = classified.Sum(r => r.Seconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"classified {patches} patches in {seconds:0.0} s ({patches / seconds:0} patches/s on {classifier.ExecutionProvider}); demo took {watch.Elapsed.TotalSeconds:0} s; everything is under {root}"));
            return 0;
        });
        return command;
    }

    private static void Step(string text) => Console.WriteLine($"== {text}");
}
