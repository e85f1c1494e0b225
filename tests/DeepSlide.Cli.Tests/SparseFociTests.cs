using System.Text.RegularExpressions;

namespace DeepSlide.Cli.Tests;

/// <summary>
/// Small tumour foci, end to end: the demo's sparse set (tumour 5-15% of the tissue) trained from annotations on seed
/// 1 and called on 6 held-out slides per class made with seed 2, which training never sees.
/// </summary>
public sealed partial class SparseFociTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-sparse-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Threshold_and_majority_call_held_out_sparse_slides_right_and_the_largest_focus_is_found_on_at_least_90_percent()
    {
        CliResult demo = await CliRun.RunAsync("demo", "--sparse", "--slides-per-class", "12", "--held-out-per-class", "6", "-o", Path.Combine(_folder, "demo"));
        Assert.True(demo.ExitCode == 0, demo.Error);

        // Majority needs a least share below 0.05: two tumour patches of 42 are 0.048.
        Dictionary<string, int> right = SlidesRight().Matches(demo.Output).ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        foreach (string method in (string[])["threshold", "majority"])
        {
            Assert.True(right.TryGetValue(method, out int n), demo.Output);
            Assert.True(n / 18.0 >= 0.90, $"{method} called {n} of 18 held-out sparse slides right");
        }

        Match foci = FociFound().Match(demo.Output);
        Assert.True(foci.Success, demo.Output);
        int found = int.Parse(foci.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), slides = int.Parse(foci.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(12, slides);
        Assert.True(found / (double)slides >= 0.90, $"the largest focus was found on {found} of {slides} held-out tumour slides");
    }

    [GeneratedRegex(@"^(\w+) +(\d+)/18 held-out slides right", RegexOptions.Multiline)]
    private static partial Regex SlidesRight();

    [GeneratedRegex(@"largest tumour focus found on (\d+) of (\d+) held-out tumour slides")]
    private static partial Regex FociFound();
}
