using DeepSlide.Aggregation;
using DeepSlide.Cli.Commands;
using DeepSlide.Pipeline;

namespace DeepSlide.Cli.Tests;

public sealed class LocalStatusTests
{
    private static SlideRun Run(params StoredCall[] calls) => new()
    {
        Id = "run-1",
        SlideId = "lab_s.svs",
        SlideBlob = "lab/s.svs",
        SlideETag = "\"0x1\"",
        ModelPrefix = "models/v1",
        Status = RunStatus.Completed,
        RangesDone = 1,
        RangesTotal = 1,
        Patches = 45,
        Calls = calls,
        Seconds = new Dictionary<string, double> { ["total"] = 5.71 },
        UpdatedUtc = new DateTimeOffset(2026, 12, 7, 3, 15, 28, TimeSpan.Zero),
    };

    private static StoredCall Call(string method, string label, double tumour, string? note = null) =>
        new(method, label, new Dictionary<string, double> { ["benign"] = 1 - tumour, ["tumour"] = tumour }, note);

    [Fact]
    public void A_run_whose_calls_differ_is_marked_and_each_call_shows_its_note()
    {
        SlideRun run = Run(Call("mean", "benign", 0.047, "no other class reaches a share of 0.05"), Call("threshold", "tumour", 0.044, "a focus of 2 tumour patches") with { Focus = new FocusArea(2, 2, 2, 2, 1) });
        Assert.Equal(
            [
                "2026-12-07 03:15:28Z  lab/s.svs  run-1  Completed in 5.7 s  patches 45, ranges 1  calls differ",
                "    mean       benign           benign 0.953  tumour 0.047  (no other class reaches a share of 0.05)",
                "    threshold  tumour           benign 0.956  tumour 0.044  (a focus of 2 tumour patches)",
            ],
            LocalCommand.StatusLines(run));
    }

    [Fact]
    public void Calls_that_agree_are_not_marked()
    {
        Assert.Equal(
            "2026-12-07 03:15:28Z  lab/s.svs  run-1  Completed in 5.7 s  patches 45, ranges 1",
            LocalCommand.StatusLines(Run(Call("majority", "tumour", 0.6), Call("mean", "tumour", 0.55))).First());
    }
}
