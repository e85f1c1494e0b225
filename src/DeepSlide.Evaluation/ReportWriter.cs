using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DeepSlide.Evaluation;

/// <summary>Writes <c>report.json</c> (every number), <c>report.md</c> (the tables), the plots and <c>report.html</c>.</summary>
public static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>
    /// Writes report.json, report.md, plots/*.png and report.html; <paramref name="resultsFolder"/> (classify's
    /// output) supplies the slide pictures for the HTML page.
    /// </summary>
    public static void Write(EvaluationReport report, string folder, string? resultsFolder = null)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, Json));
        File.WriteAllText(Path.Combine(folder, "report.md"), Markdown(report));
        string plotsFolder = Path.Combine(folder, "plots");
        IReadOnlyDictionary<string, IReadOnlyList<string>> plots = ReportPlots.Write(report, plotsFolder);
        File.WriteAllText(Path.Combine(folder, "report.html"), HtmlReport.Build(report, plotsFolder, plots, resultsFolder));
    }

    public static string Markdown(EvaluationReport report)
    {
        var md = new StringBuilder();
        md.AppendLine("# Evaluation");
        md.AppendLine();
        md.AppendLine(string.Create(C, $"{report.Methods.FirstOrDefault()?.Metrics.Count ?? 0} labelled slides; classes {string.Join(", ", report.Classes)}."));
        md.AppendLine();
        if (report.Methods.FirstOrDefault()?.Metrics is { } first && first.PerClass.Count(c => c.Support > 0) < 2)
        {
            md.AppendLine("**AUC is undefined here:** the ground truth has a single class, so no class has both positive and negative slides.");
            md.AppendLine();
        }

        md.AppendLine("## Slide level, every aggregator");
        md.AppendLine();
        md.AppendLine("| method | accuracy (95% CI) | balanced accuracy (95% CI) | macro F1 | weighted F1 | macro AUC (95% CI) |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- |");
        MethodEvaluation? regions = report.Regions is { } region ? new MethodEvaluation(RegionsRow, region.Metrics) : null;
        foreach (MethodEvaluation m in report.Methods.Concat(report.Patches is null ? [] : [report.Patches]).Concat(regions is null ? [] : [regions]))
        {
            ClassificationMetrics x = m.Metrics;
            md.AppendLine(string.Create(C, $"| {m.Method} | {x.Accuracy:0.000}{Ci(x.AccuracyInterval)} | {x.BalancedAccuracy:0.000}{Ci(x.BalancedAccuracyInterval)} | {x.Macro.F1:0.000} | {x.Weighted.F1:0.000} | {Value(x.MacroAuc)}{Ci(x.MacroAucInterval)} |"));
        }

        md.AppendLine();
        if (report.Patches is not null)
        {
            md.AppendLine("The `patches` row is patch level: every patch carries its slide's label.");
            md.AppendLine();
        }

        if (report.Regions is { } rg)
        {
            md.AppendLine(string.Create(C, $"The `{RegionsRow}` row scores each patch against the region it lies in: the class of the annotations covering most of its area{(rg.OutsideClass is null ? string.Empty : $", `{rg.OutsideClass}` outside every annotation")}. {rg.AnnotatedSlides} slide(s) had annotations and {rg.SlidesByLabel} were scored against their own label; {rg.MixedPatchesLeftOut} mixed patch(es), where no class covers most of the area, are left out."));
            md.AppendLine();
            if (rg.Foci is { } foci)
            {
                md.AppendLine(string.Create(C, $"**Largest focus found: {foci.Found} of {foci.Slides} slides ({foci.Rate:P0})**: on each slide with annotated tumour, its largest focus (touching regions of one class) counts as found when at least one patch over it is called {(rg.OutsideClass is null ? "its class" : $"anything but `{rg.OutsideClass}`")}.{(foci.Missed.Count == 0 ? string.Empty : $" Missed: {string.Join(", ", foci.Missed)}.")}"));
                md.AppendLine();
            }
        }

        foreach (MethodEvaluation m in report.Methods.Concat(regions is null ? [] : [regions]))
        {
            md.AppendLine($"## {m.Method}");
            md.AppendLine();
            md.AppendLine("| class | precision | recall | F1 | support | AUC (95% CI) |");
            md.AppendLine("| --- | --- | --- | --- | --- | --- |");
            for (int k = 0; k < m.Metrics.PerClass.Count; k++)
            {
                ClassMetrics c = m.Metrics.PerClass[k];
                md.AppendLine(string.Create(C, $"| {c.Class} | {c.Precision:0.000} | {c.Recall:0.000} | {c.F1:0.000} | {c.Support} | {Value(c.Auc)}{Ci(m.Metrics.AucIntervals?[k])} |"));
            }

            md.AppendLine(string.Create(C, $"| macro | {m.Metrics.Macro.Precision:0.000} | {m.Metrics.Macro.Recall:0.000} | {m.Metrics.Macro.F1:0.000} | | |"));
            md.AppendLine(string.Create(C, $"| weighted | {m.Metrics.Weighted.Precision:0.000} | {m.Metrics.Weighted.Recall:0.000} | {m.Metrics.Weighted.F1:0.000} | | |"));
            md.AppendLine();
            md.AppendLine("Confusion matrix (rows: truth; columns: call, then no call):");
            md.AppendLine();
            md.AppendLine($"| truth \\ call | {string.Join(" | ", report.Classes)} | none |");
            md.AppendLine($"| --- |{string.Concat(Enumerable.Repeat(" --- |", report.Classes.Count + 1))}");
            for (int t = 0; t < report.Classes.Count; t++)
            {
                md.AppendLine($"| {report.Classes[t]} | {string.Join(" | ", m.Metrics.Confusion[t].Select((v, j) => string.Create(C, $"{v} ({m.Metrics.ConfusionNormalized[t][j]:0%})")))} |");
            }

            md.AppendLine();
        }

        if (report.Readers.Count > 0)
        {
            md.AppendLine("## Pathologists");
            md.AppendLine();
            md.AppendLine($"Compared with the `{report.PrimaryMethod}` calls.");
            md.AppendLine();
            md.AppendLine("| reader | slides | accuracy | balanced accuracy | kappa with the model | kappa with the truth |");
            md.AppendLine("| --- | --- | --- | --- | --- | --- |");
            foreach (ReaderEvaluation r in report.Readers)
            {
                md.AppendLine(string.Create(C, $"| {r.Reader} | {r.Slides} | {r.Accuracy:0.000} | {r.BalancedAccuracy:0.000} | {r.KappaWithModel:0.000} | {r.KappaWithTruth:0.000} |"));
            }

            md.AppendLine();
            if (report.ModelRankAmongReaders is int rank)
            {
                md.AppendLine(string.Create(C, $"On the slides every reader read, the model ranks {rank} of {report.Readers.Count + 1} by accuracy."));
                md.AppendLine();
            }
        }

        void List(string title, IReadOnlyList<string> items)
        {
            if (items.Count > 0)
            {
                md.AppendLine($"**{title}:** {string.Join(", ", items)}");
                md.AppendLine();
            }
        }

        List("Labelled but without a result (not evaluated)", report.LabelledWithoutResult);
        List("With a result but no label (not evaluated)", report.ResultWithoutLabel);
        List("Not classified (counted as wrong)", report.NotClassified);
        return md.ToString();
    }

    /// <summary>The name of the patch-against-regions row in the tables.</summary>
    public const string RegionsRow = "patches vs regions";

    private static string Value(double? v) => v is double d ? d.ToString("0.000", C) : "undefined";

    private static string Ci(Interval? i) => i is null ? string.Empty : string.Create(C, $" ({i.Low:0.000}-{i.High:0.000})");
}
