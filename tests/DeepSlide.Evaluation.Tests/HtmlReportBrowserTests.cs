using System.Diagnostics;
using System.Text.RegularExpressions;
using DeepSlide.Results;

namespace DeepSlide.Evaluation.Tests;

/// <summary>Opens report.html in a real headless Chromium (Debian's, installed by scripts/prerequisites.sh).</summary>
public sealed partial class HtmlReportBrowserTests : IDisposable
{
    private static readonly string[] Classes = ["benign", "tumour"];
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-html-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static SlideResultFile Result(string slide, string label, double tumour) => new(
        slide, "classified", Classes,
        [new SlideCallFile("majority", label, new Dictionary<string, double> { ["benign"] = 1 - tumour, ["tumour"] = tumour }, null)],
        [], null);

    [Fact]
    public void The_report_loads_in_chromium_with_its_tables_and_no_broken_images()
    {
        // Slide pictures as classify writes them: one thumbnail and one overlay per slide.
        string results = Path.Combine(_folder, "results");
        foreach (string sub in new[] { "thumbnails", "overlays" })
        {
            Directory.CreateDirectory(Path.Combine(results, sub));
            foreach (string slide in new[] { "s1", "s2" })
            {
                Slides.ImageFiles.Save(Imaging.RgbImage.Filled(300, 200, 230, 150, 200), Path.Combine(results, sub, slide + ".png"));
            }
        }

        string labels = Path.Combine(_folder, "labels.csv");
        File.WriteAllText(labels, "img,gt,dr_x\ns1,benign,benign\ns2,tumour,benign\ns3,tumour,tumour\n");
        EvaluationReport report = SlideEvaluator.Evaluate(
            [Result("s1", "benign", 0.2), Result("s2", "tumour", 0.8), Result("s3", "benign", 0.4)], SlideLabels.Read(labels), new BootstrapOptions(100));
        string folder = Path.Combine(_folder, "report");
        ReportWriter.Write(report, folder, results);
        string page = new Uri(Path.Combine(folder, "report.html")).AbsoluteUri;

        string dom = Chromium("--virtual-time-budget=5000", "--dump-dom", page);
        Match body = BodyPattern().Match(dom);
        Assert.True(body.Success, "the page ran its load script");
        // 3 plots for the one method, and a thumbnail and an overlay for each of 2 slides.
        Assert.Equal("7", body.Groups["images"].Value);
        Assert.Equal("0", body.Groups["broken"].Value);
        Assert.Contains("<table id=\"summary\">", dom);
        Assert.Contains("<table id=\"readers\">", dom);
        Assert.Contains("<td>majority</td><td>0.667</td>", dom);

        string screenshot = Path.Combine(_folder, "report.png");
        Chromium("--window-size=1280,1600", $"--screenshot={screenshot}", page);
        using var image = SkiaSharp.SKBitmap.Decode(screenshot);
        Assert.Equal((1280, 1600), (image.Width, image.Height));
    }

    private string Chromium(params string[] arguments)
    {
        var start = new ProcessStartInfo("chromium") { RedirectStandardOutput = true, RedirectStandardError = true };
        string profile = Directory.CreateTempSubdirectory("chromium-profile-").FullName;
        foreach (string a in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", $"--user-data-dir={profile}",
        }.Concat(arguments))
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("chromium (apt) is needed for this test; scripts/prerequisites.sh installs it.");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(90_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("chromium did not finish in 90 s.");
        }

        Directory.Delete(profile, recursive: true);
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {error.Result}");
        return output.Result;
    }

    [GeneratedRegex("<body data-images=\"(?<images>\\d+)\" data-broken-images=\"(?<broken>\\d+)\">")]
    private static partial Regex BodyPattern();
}
