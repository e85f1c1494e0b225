using System.Globalization;
using ScottPlot;

namespace DeepSlide.Evaluation;

/// <summary>PNG plots of a report: ROC curves, the confusion matrix and per-class metrics, one set per method.</summary>
public static class ReportPlots
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;
    private static readonly Lazy<bool> FontsReady = new(RegisterFont);

    /// <summary>Writes the plots into <paramref name="folder"/> and returns their file names per method.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Write(EvaluationReport report, string folder)
    {
        _ = FontsReady.Value;
        Directory.CreateDirectory(folder);
        var files = new Dictionary<string, IReadOnlyList<string>>();
        foreach (MethodEvaluation m in report.Methods)
        {
            var written = new List<string>();
            if (m.Metrics.RocCurves is { } curves && m.Metrics.MacroAuc is not null)
            {
                written.Add(Save(Roc(m, curves), folder, $"roc-{m.Method}.png", 640, 520));
            }

            written.Add(Save(Confusion(m), folder, $"confusion-{m.Method}.png", 640, 520));
            written.Add(Save(PerClass(m), folder, $"classes-{m.Method}.png", 720, 420));
            files[m.Method] = written;
        }

        return files;
    }

    private static Plot Roc(MethodEvaluation m, IReadOnlyList<IReadOnlyList<RocPoint>> curves)
    {
        var plot = new Plot();
        for (int k = 0; k < curves.Count; k++)
        {
            if (m.Metrics.PerClass[k].Auc is not double auc)
            {
                continue;
            }

            var line = plot.Add.Scatter(curves[k].Select(p => p.FalsePositiveRate).ToArray(), curves[k].Select(p => p.TruePositiveRate).ToArray());
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = string.Create(C, $"{m.Metrics.Classes[k]} (AUC {auc:0.000})");
        }

        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.LineColor = Colors.Gray;
        plot.Axes.SetLimits(-0.02, 1.02, -0.02, 1.02);
        plot.Title(string.Create(C, $"ROC, one class against the rest: {m.Method} (macro AUC {m.Metrics.MacroAuc:0.000})"));
        plot.XLabel("false positive rate");
        plot.YLabel("true positive rate");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static Plot Confusion(MethodEvaluation m)
    {
        int n = m.Metrics.Classes.Count;
        var values = new double[n, n];
        for (int t = 0; t < n; t++)
        {
            for (int p = 0; p < n; p++)
            {
                values[t, p] = m.Metrics.ConfusionNormalized[t][p];
            }
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        for (int t = 0; t < n; t++)
        {
            for (int p = 0; p < n; p++)
            {
                var text = plot.Add.Text(string.Create(C, $"{m.Metrics.Confusion[t][p]}\n{values[t, p]:0%}"), p, n - 1 - t);
                text.LabelFontColor = values[t, p] > 0.6 ? Colors.Black : Colors.White;
                text.LabelFontSize = 16;
                text.LabelAlignment = Alignment.MiddleCenter;
            }
        }

        double[] positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, [.. m.Metrics.Classes]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, [.. m.Metrics.Classes.Reverse()]);
        plot.Add.ColorBar(heatmap);
        plot.Title($"Confusion matrix, row-normalised: {m.Method}");
        plot.XLabel("called");
        plot.YLabel("truth");
        return plot;
    }

    private static Plot PerClass(MethodEvaluation m)
    {
        var plot = new Plot();
        (string Name, Func<ClassMetrics, double> Value, Color Colour)[] series =
        [
            ("precision", c => c.Precision, Colors.SteelBlue),
            ("recall", c => c.Recall, Colors.DarkOrange),
            ("F1", c => c.F1, Colors.SeaGreen),
        ];
        var bars = new List<Bar>();
        for (int k = 0; k < m.Metrics.PerClass.Count; k++)
        {
            for (int s = 0; s < series.Length; s++)
            {
                bars.Add(new Bar { Position = k * 4 + s, Value = series[s].Value(m.Metrics.PerClass[k]), FillColor = series[s].Colour });
            }
        }

        plot.Add.Bars(bars);
        for (int s = 0; s < series.Length; s++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s].Name, FillColor = series[s].Colour });
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            m.Metrics.PerClass.Select((_, k) => k * 4 + 1.0).ToArray(), [.. m.Metrics.Classes]);
        plot.Axes.SetLimitsY(0, 1.1);
        plot.Title($"Per class: {m.Method}");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    private static string Save(Plot plot, string folder, string name, int width, int height)
    {
        plot.SavePng(Path.Combine(folder, name), width, height);
        return name;
    }

    // The bundled Skia build has no font manager of its own: register DejaVu so axis labels and titles draw.
    private static bool RegisterFont()
    {
        string[] candidates = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"];
        string? path = candidates.FirstOrDefault(File.Exists);
        if (path is null)
        {
            return false;
        }

        Fonts.AddFontFile("DejaVu Sans", path);
        Fonts.Default = "DejaVu Sans";
        return true;
    }
}
