using System.CommandLine;
using System.Globalization;
using DeepSlide.Evaluation;
using DeepSlide.Results;

namespace DeepSlide.Cli.Commands;

internal static class EvaluateCommand
{
    public static Command Create()
    {
        var results = new Option<string>("--results", "-r") { Description = "The output folder of 'deepslide classify'.", Required = true };
        var labels = new Option<string>("--labels", "-l") { Description = "Labels CSV in DeepSlide's format (img,gt), with optional pathologist columns after gt.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder for report.html, report.md, report.json and plots/.", Required = true };
        var resamples = new Option<int>("--bootstrap") { Description = "Bootstrap resamples for the 95% intervals.", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Bootstrap seed.", DefaultValueFactory = _ => 0 };
        var annotations = new Option<string?>("--annotations") { Description = "Folder of region annotations, {slide}.geojson (QuPath GeoJSON, or synth's <out>-truth/annotations): score each patch against the region it lies in." };
        var outside = new Option<string?>("--outside") { Description = "Class of the area outside every annotation on annotated slides (typically the normal class); without it patches there are left out." };
        var command = new Command("evaluate", "Evaluate slide results against labels: accuracy, per-class precision/recall/F1, confusion, ROC AUC with bootstrap intervals, every aggregator side by side, pathologists.")
        {
            results, labels, output, resamples, seed, annotations, outside,
        };
        command.SetAction(parse =>
        {
            EvaluationReport report = SlideEvaluator.Evaluate(
                SlideResultReader.ReadFolder(parse.GetValue(results)!),
                SlideLabels.Read(parse.GetValue(labels)!),
                new Evaluation.BootstrapOptions(parse.GetValue(resamples), parse.GetValue(seed)),
                regions: parse.GetValue(annotations) is string folder ? new RegionTruth(folder, parse.GetValue(outside)) : null);
            ReportWriter.Write(report, parse.GetValue(output)!, parse.GetValue(results));
            foreach (MethodEvaluation m in report.Methods)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Method,-10} accuracy {m.Metrics.Accuracy:0.000}  balanced {m.Metrics.BalancedAccuracy:0.000}  macro F1 {m.Metrics.Macro.F1:0.000}  macro AUC {m.Metrics.MacroAuc:0.000}"));
            }

            if (report.Regions is { } r)
            {
                ClassificationMetrics m = r.Metrics;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"patches against regions: accuracy {m.Accuracy:0.000} (95% CI {m.AccuracyInterval?.Low:0.000}-{m.AccuracyInterval?.High:0.000})  balanced {m.BalancedAccuracy:0.000}  macro F1 {m.Macro.F1:0.000}  macro AUC {m.MacroAuc:0.000}  ({m.Count} patches; {r.MixedPatchesLeftOut} mixed left out; {r.AnnotatedSlides} annotated slides, {r.SlidesByLabel} by slide label)"));
                foreach (ClassMetrics c in m.PerClass)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {c.Class,-20} precision {c.Precision:0.000}  recall {c.Recall:0.000}  F1 {c.F1:0.000}  support {c.Support}"));
                }

                if (r.Foci is { } foci)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"largest focus found: {foci.Found} of {foci.Slides} slides with annotated tumour ({foci.Rate:P0}){(foci.Missed.Count == 0 ? string.Empty : $"; missed: {string.Join(", ", foci.Missed)}")}"));
                }
            }

            foreach (string missing in report.LabelledWithoutResult)
            {
                Console.WriteLine($"no result  {missing} (labelled, not evaluated)");
            }

            Console.WriteLine($"wrote {Path.Combine(parse.GetValue(output)!, "report.html")}, report.md, report.json and plots/");
            return 0;
        });
        return command;
    }
}
