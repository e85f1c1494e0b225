using System.Diagnostics;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Evaluation;
using DeepSlide.Results;

namespace DeepSlide.Cli.Commands;

/// <summary>Evaluating 1,000 slide results (read from their JSON files) with 1,000 bootstrap resamples.</summary>
internal static class EvaluationBench
{
    public static void Run(string folder)
    {
        string results = Path.Combine(folder, "bench-results");
        string[] classes = ["adenocarcinoma", "benign", "squamous"];
        var random = new Random(1);
        Directory.CreateDirectory(results);
        var labels = new List<string> { "img,gt" };
        for (int i = 0; i < 1000; i++)
        {
            int truth = i % 3;
            var calls = new List<SlideCall>();
            foreach (string method in new[] { "majority", "mean", "threshold", "learned" })
            {
                double[] scores = classes.Select((_, k) => random.NextDouble() * 0.6 + (k == truth ? 0.4 : 0)).ToArray();
                double sum = scores.Sum();
                scores = scores.Select(s => s / sum).ToArray();
                calls.Add(new SlideCall(method, classes[Array.IndexOf(scores, scores.Max())], scores));
            }

            string name = string.Create(CultureInfo.InvariantCulture, $"slide-{i:D4}");
            var result = new SlideResult($"/bench/{name}.svs", SlideStatus.Classified, null, new PatchProbabilities(classes, []), calls, "CPU", 0);
            File.WriteAllText(Path.Combine(results, name + ".json"), ResultFiles.ToJson(result));
            labels.Add($"{name}.svs,{classes[truth]}");
        }

        string labelsPath = Path.Combine(folder, "bench-labels.csv");
        File.WriteAllLines(labelsPath, labels);

        var watch = Stopwatch.StartNew();
        EvaluationReport report = SlideEvaluator.Evaluate(SlideResultReader.ReadFolder(results), SlideLabels.Read(labelsPath), new Evaluation.BootstrapOptions(1000));
        ReportWriter.Write(report, Path.Combine(folder, "bench-report"));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"evaluate 1,000 slide results x {report.Methods.Count} aggregators, 1,000 bootstrap resamples, report written: {watch.Elapsed.TotalSeconds:0.00} s"));
    }
}
