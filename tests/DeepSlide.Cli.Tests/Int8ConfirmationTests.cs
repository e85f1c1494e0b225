using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DeepSlide.Cli.Tests;

/// <summary>
/// int8 on tissue it never saw. An unsure model (trained from slide labels, <c>synth</c> seed 1) is quantized on its own
/// training patches; a family of slides with another seed (13) and another stain (-12,16,-24), which neither the
/// training nor the calibration saw, is then classified by FP32, by the int8 bundle, and by its int8 graph alone.
/// </summary>
public sealed partial class Int8ConfirmationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-int8-family-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task On_a_stain_and_seed_the_model_never_saw_the_int8_bundle_keeps_every_FP32_call_and_its_patch_accuracy_within_1_point()
    {
        string fp32 = In("fp32"), int8 = In("int8"), family = In("family"), patches = In("patches");
        foreach (string[] step in (string[][])[
            ["synth", "-o", In("train"), "--slides-per-class", "8", "--width", "2400", "--height", "1800", "--seed", "1"],
            ["tiles", "-i", In("train"), "-o", patches, "--val", "0.25", "--test", "0", "--seed", "1"],
            ["train", "-p", patches, "-o", fp32, "--seed", "1"],
            ["tune", "-m", fp32, "-s", Path.Combine(patches, "slides.csv")],
            ["quantize", "-m", fp32, "-o", int8, "--calibration", patches],
            ["synth", "-o", family, "--slides-per-class", "6", "--width", "2400", "--height", "1800", "--seed", "13", "--stain-shift=-12,16,-24"]])
        {
            CliResult done = await CliRun.RunAsync(step);
            Assert.True(done.ExitCode == 0, $"{step[0]}: {done.Error}");
        }

        (Dictionary<string, string?> source, double sourceAccuracy, _) = await ClassifyAsync(fp32, "fp32");
        (Dictionary<string, string?> confirmed, double accuracy, CliResult run) = await ClassifyAsync(int8, "int8");
        (Dictionary<string, string?> alone, double aloneAccuracy, _) = await ClassifyAsync(int8, "int8-alone", "--confirm", "false");

        // The family is hard enough: the int8 graph alone changes calls, which is what the int8 bundle did before it
        // carried its FP32 graph.
        Assert.Equal(18 * 3, source.Count); // majority, mean and threshold: 2 validation slides a class are too few for the learned aggregator
        Assert.NotEmpty(Changed(source, alone));
        Assert.Empty(Changed(source, confirmed));
        Assert.True(Math.Abs(accuracy - sourceAccuracy) <= 0.01, $"int8 patch accuracy {accuracy} against FP32's {sourceAccuracy} (int8 alone: {aloneAccuracy})");

        // And int8 did most of the work: most slides and patches were not classified again.
        Match again = ClassifiedAgain().Match(run.Output);
        Assert.True(again.Success, run.Output);
        Assert.True(Int(again.Groups[1]) <= 6 && Int(again.Groups[2]) == 18, again.Value);
        Assert.True(Int(again.Groups[3]) * 5 < Int(again.Groups[4]), again.Value);
    }

    private async Task<(Dictionary<string, string?> Calls, double PatchAccuracy, CliResult Run)> ClassifyAsync(string model, string name, params string[] options)
    {
        string results = In($"results-{name}"), family = In("family");
        CliResult run = await CliRun.RunAsync(["classify", "-m", model, "-i", family, "-o", results, "--pictures", "false", .. options]);
        Assert.True(run.ExitCode == 0, run.Error);
        CliResult evaluated = await CliRun.RunAsync(
            "evaluate", "-r", results, "-l", Path.Combine(family, "labels.csv"), "-o", In($"report-{name}"),
            "--annotations", Path.Combine($"{family}-truth", "annotations"), "--outside", "benign", "--bootstrap", "10");
        Assert.True(evaluated.ExitCode == 0, evaluated.Error);
        Match accuracy = PatchAccuracy().Match(evaluated.Output);
        Assert.True(accuracy.Success, evaluated.Output);

        var calls = new Dictionary<string, string?>();
        foreach (string file in Directory.EnumerateFiles(results, "*.json"))
        {
            using JsonDocument result = JsonDocument.Parse(File.ReadAllText(file));
            foreach (JsonElement call in result.RootElement.GetProperty("calls").EnumerateArray())
            {
                calls[$"{Path.GetFileNameWithoutExtension(file)} {call.GetProperty("method").GetString()}"] = call.TryGetProperty("label", out JsonElement label) ? label.GetString() : null;
            }
        }

        return (calls, double.Parse(accuracy.Groups[1].Value, CultureInfo.InvariantCulture), run);
    }

    private static List<string> Changed(Dictionary<string, string?> source, Dictionary<string, string?> other) =>
        [.. source.Where(call => !other.TryGetValue(call.Key, out string? label) || label != call.Value).Select(call => $"{call.Key}: {call.Value}, {other.GetValueOrDefault(call.Key)}")];

    private string In(string name) => Path.Combine(_folder, name);

    private static int Int(Group group) => int.Parse(group.Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^patches against regions: accuracy ([\d.]+)", RegexOptions.Multiline)]
    private static partial Regex PatchAccuracy();

    [GeneratedRegex(@"classified again in fp32: (\d+) of (\d+) slide\(s\) whole; (\d+) of (\d+) patches")]
    private static partial Regex ClassifiedAgain();
}
