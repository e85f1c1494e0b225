using System.Text.Json;

namespace DeepSlide.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string In(string relative) => Path.Combine(_folder, relative);

    [Fact]
    public async Task Synth_then_plan_writes_a_plan_a_mask_a_thumbnail_and_every_patch()
    {
        CliResult synth = await CliRun.RunAsync("synth", "-o", In("slides"), "--slides-per-class", "1", "--width", "2000", "--height", "1500", "--format", "aperio");
        Assert.Equal(0, synth.ExitCode);
        Assert.Equal("img,gt", File.ReadLines(In("slides/labels.csv")).First());
        string slide = Directory.GetFiles(In("slides/squamous"), "*.svs").Single();

        CliResult plan = await CliRun.RunAsync("plan", slide, "-o", In("plan"), "--patches", "--range-size", "10", "--magnification", "20");
        Assert.True(plan.ExitCode == 0, plan.Error);
        using JsonDocument json = JsonDocument.Parse(File.ReadAllText(In("plan/plan.json")));
        JsonElement tiles = json.RootElement.GetProperty("plan").GetProperty("tiles");
        JsonElement ranges = json.RootElement.GetProperty("ranges");
        Assert.True(tiles.GetArrayLength() > 0);
        Assert.Equal((tiles.GetArrayLength() + 9) / 10, ranges.GetArrayLength());
        Assert.Equal(tiles.GetArrayLength(), Directory.GetFiles(In("plan/patches")).Length);
        Assert.Contains($"{tiles.GetArrayLength()} with tissue", plan.Output);
        Assert.True(File.Exists(In("plan/mask.png")) && File.Exists(In("plan/thumbnail.png")));
    }

    [Fact]
    public async Task Info_reports_vendor_resolution_and_levels()
    {
        await CliRun.RunAsync("synth", "-o", In("s"), "--slides-per-class", "1", "--width", "1200", "--height", "900", "--format", "aperio");
        CliResult info = await CliRun.RunAsync("info", Directory.GetFiles(In("s/benign")).Single());
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("vendor    aperio", info.Output);
        Assert.Contains("mpp       0.5 x 0.5", info.Output);
        Assert.Contains("objective 20", info.Output);
        Assert.Contains("associated label, macro", info.Output);
    }

    [Fact]
    public async Task Tiles_extracts_a_split_balanced_data_set()
    {
        await CliRun.RunAsync("synth", "-o", In("s"), "--slides-per-class", "3", "--width", "1400", "--height", "1100");
        CliResult tiles = await CliRun.RunAsync("tiles", "-i", In("s"), "-o", In("p"), "--val", "0.34", "--test", "0.34");
        Assert.True(tiles.ExitCode == 0, tiles.Error);
        foreach (string split in new[] { "train", "val", "test" })
        {
            Assert.Equal(["adenocarcinoma", "benign", "squamous"], Directory.GetDirectories(In($"p/{split}")).Select(Path.GetFileName).Order());
        }

        int[] trainCounts = Directory.GetDirectories(In("p/train")).Select(d => Directory.GetFiles(d).Length).ToArray();
        Assert.All(trainCounts, c => Assert.Equal(trainCounts[0], c));
    }

    [Fact]
    public async Task A_missing_slide_is_one_line_on_stderr_and_exit_code_2()
    {
        CliResult result = await CliRun.RunAsync("plan", In("missing.svs"));
        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"error: {In("missing.svs")}: the file does not exist.", result.Error.Trim());
    }

    [Fact]
    public async Task A_single_class_data_set_is_refused_by_tiles()
    {
        await CliRun.RunAsync("synth", "-o", In("s"), "--slides-per-class", "1", "--width", "1000", "--height", "800");
        Directory.Delete(In("s/benign"), true);
        Directory.Delete(In("s/squamous"), true);
        CliResult result = await CliRun.RunAsync("tiles", "-i", In("s"), "-o", In("p"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("single class, 'adenocarcinoma'", result.Error);
    }

    [Fact]
    public async Task Conflicting_resolution_options_are_a_usage_error()
    {
        CliResult result = await CliRun.RunAsync("plan", In("any.svs"), "--level", "1", "--mpp", "0.5");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("at most one of --level, --mpp and --magnification", result.Error);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("NaN")]
    public async Task A_negative_or_undefined_instance_loss_is_a_usage_error(string weight)
    {
        CliResult result = await CliRun.RunAsync("train-mil", "-m", In("model"), "-s", In("slides.csv"), "--instance-loss", weight);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--instance-loss must be a finite weight of 0 or more.", result.Error);
    }

    [Fact]
    public async Task An_mpp_the_slide_cannot_provide_is_refused_with_its_own()
    {
        await CliRun.RunAsync("synth", "-o", In("s"), "--slides-per-class", "1", "--width", "1000", "--height", "800", "--format", "jpeg");
        string slide = Directory.GetFiles(In("s/benign")).Single();
        CliResult result = await CliRun.RunAsync("plan", slide, "--mpp", "0.5");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("records no microns per pixel", result.Error);
        Assert.Contains(slide, result.Error);
    }
}
