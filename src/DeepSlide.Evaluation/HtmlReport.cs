using System.Globalization;
using System.Net;
using System.Text;
using SkiaSharp;

namespace DeepSlide.Evaluation;

/// <summary>
/// One self-contained page: the tables, the plots, and each slide's thumbnail and class overlay, every picture
/// embedded (slide pictures downscaled), so the file can be mailed or archived alone.
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string Build(EvaluationReport report, string plotsFolder, IReadOnlyDictionary<string, IReadOnlyList<string>> plots, string? resultsFolder)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>DeepSlide evaluation</title><style>")
            .Append("body{font-family:DejaVu Sans,Arial,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}")
            .Append("th,td{border:1px solid #bbb;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}th{background:#eee}")
            .Append(".plots img{margin:6px;border:1px solid #ddd}.slides{display:flex;flex-wrap:wrap;gap:16px}.slide{border:1px solid #ccc;padding:8px}")
            .Append(".slide img{max-width:360px;display:block;margin-top:4px}")
            .Append("</style></head><body>");
        html.Append("<h1>DeepSlide evaluation</h1>");
        html.Append(CultureInfo.InvariantCulture, $"<p>{report.Methods.FirstOrDefault()?.Metrics.Count ?? 0} labelled slides; classes {Encode(string.Join(", ", report.Classes))}.</p>");

        html.Append("<h2>Every aggregator</h2><table id=\"summary\"><tr><th>method</th><th>accuracy</th><th>95% CI</th><th>balanced accuracy</th><th>95% CI</th><th>macro F1</th><th>macro AUC</th><th>95% CI</th></tr>");
        foreach (MethodEvaluation m in report.Methods.Concat(report.Patches is null ? [] : [report.Patches]))
        {
            ClassificationMetrics x = m.Metrics;
            html.Append(C, $"<tr><td>{Encode(m.Method)}</td><td>{x.Accuracy:0.000}</td><td>{Ci(x.AccuracyInterval)}</td><td>{x.BalancedAccuracy:0.000}</td><td>{Ci(x.BalancedAccuracyInterval)}</td><td>{x.Macro.F1:0.000}</td><td>{Value(x.MacroAuc)}</td><td>{Ci(x.MacroAucInterval)}</td></tr>");
        }

        html.Append("</table>");
        foreach (MethodEvaluation m in report.Methods)
        {
            html.Append(C, $"<h2>{Encode(m.Method)}</h2><table class=\"classes\"><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th><th>AUC</th></tr>");
            foreach (ClassMetrics c in m.Metrics.PerClass)
            {
                html.Append(C, $"<tr><td>{Encode(c.Class)}</td><td>{c.Precision:0.000}</td><td>{c.Recall:0.000}</td><td>{c.F1:0.000}</td><td>{c.Support}</td><td>{Value(c.Auc)}</td></tr>");
            }

            html.Append("</table><div class=\"plots\">");
            foreach (string plot in plots.GetValueOrDefault(m.Method) ?? [])
            {
                html.Append(C, $"<img alt=\"{Encode(plot)}\" width=\"480\" src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(Path.Combine(plotsFolder, plot)))}\">");
            }

            html.Append("</div>");
        }

        if (report.Readers.Count > 0)
        {
            html.Append(C, $"<h2>Pathologists</h2><p>Compared with the {Encode(report.PrimaryMethod)} calls.</p><table id=\"readers\"><tr><th>reader</th><th>slides</th><th>accuracy</th><th>balanced accuracy</th><th>kappa with the model</th><th>kappa with the truth</th></tr>");
            foreach (ReaderEvaluation r in report.Readers)
            {
                html.Append(C, $"<tr><td>{Encode(r.Reader)}</td><td>{r.Slides}</td><td>{r.Accuracy:0.000}</td><td>{r.BalancedAccuracy:0.000}</td><td>{r.KappaWithModel:0.000}</td><td>{r.KappaWithTruth:0.000}</td></tr>");
            }

            html.Append("</table>");
            if (report.ModelRankAmongReaders is int rank)
            {
                html.Append(C, $"<p>The model ranks {rank} of {report.Readers.Count + 1} by accuracy on the slides every reader read.</p>");
            }
        }

        if (resultsFolder is not null && Directory.Exists(Path.Combine(resultsFolder, "overlays")))
        {
            html.Append("<h2>Slides</h2><div class=\"slides\">");
            foreach (string overlay in Directory.GetFiles(Path.Combine(resultsFolder, "overlays"), "*.png").Order(StringComparer.Ordinal))
            {
                string slide = Path.GetFileNameWithoutExtension(overlay);
                string thumbnail = Path.Combine(resultsFolder, "thumbnails", slide + ".png");
                html.Append(C, $"<div class=\"slide\"><b>{Encode(slide)}</b>");
                if (File.Exists(thumbnail))
                {
                    html.Append(C, $"<img alt=\"thumbnail of {Encode(slide)}\" src=\"data:image/jpeg;base64,{Small(thumbnail)}\">");
                }

                html.Append(C, $"<img alt=\"class overlay of {Encode(slide)}\" src=\"data:image/jpeg;base64,{Small(overlay)}\">");
                string attention = Path.Combine(resultsFolder, "attention", slide + ".png");
                if (File.Exists(attention))
                {
                    html.Append(C, $"<img alt=\"attention of {Encode(slide)}\" src=\"data:image/jpeg;base64,{Small(attention)}\">");
                }

                html.Append("</div>");
            }

            html.Append("</div>");
        }

        // Marks the page once every image has loaded or failed, so a headless browser can check for broken ones.
        html.Append("<script>window.addEventListener('load',()=>{const b=[...document.images].filter(i=>!i.complete||i.naturalWidth===0).length;")
            .Append("document.body.dataset.images=document.images.length;document.body.dataset.brokenImages=b;});</script>");
        html.Append("</body></html>");
        return html.ToString();
    }

    // Slide pictures are 2,000 px PNGs; 480 px JPEGs keep a report of many slides small.
    private static string Small(string path)
    {
        using var bitmap = SKBitmap.Decode(path) ?? throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, "the picture cannot be decoded.");
        double scale = Math.Min(1, 480.0 / Math.Max(bitmap.Width, bitmap.Height));
        using var small = bitmap.Resize(new SKImageInfo(Math.Max(1, (int)(bitmap.Width * scale)), Math.Max(1, (int)(bitmap.Height * scale))), new SKSamplingOptions(SKFilterMode.Linear));
        using SKData data = small.Encode(SKEncodedImageFormat.Jpeg, 80);
        return Convert.ToBase64String(data.ToArray());
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string Value(double? v) => v is double d ? d.ToString("0.000", C) : "undefined";

    private static string Ci(Interval? i) => i is null ? string.Empty : string.Create(C, $"{i.Low:0.000}-{i.High:0.000}");
}
