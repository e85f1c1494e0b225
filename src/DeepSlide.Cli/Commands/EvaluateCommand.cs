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
        var command = new Command("evaluate", "Evaluate slide results against labels: accuracy, per-class precision/recall/F1, confusion, ROC AUC with bootstrap intervals, every aggregator side by side, pathologists.")
        {
            results, labels, output, resamples, seed,
        };
        command.SetAction(parse =>
        {
            EvaluationReport report = SlideEvaluator.Evaluate(
                SlideResultReader.ReadFolder(parse.GetValue(results)!),
                SlideLabels.Read(parse.GetValue(labels)!),
                new Evaluation.BootstrapOptions(parse.GetValue(resamples), parse.GetValue(seed)));
            ReportWriter.Write(report, parse.GetValue(output)!, parse.GetValue(results));
            foreach (MethodEvaluation m in report.Methods)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m.Method,-10} accuracy {m.Metrics.Accuracy:0.000}  balanced {m.Metrics.BalancedAccuracy:0.000}  macro F1 {m.Metrics.Macro.F1:0.000}  macro AUC {m.Metrics.MacroAuc:0.000}"));
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
