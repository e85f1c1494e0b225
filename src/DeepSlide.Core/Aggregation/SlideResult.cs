using DeepSlide.Tiling;

namespace DeepSlide.Aggregation;

public static class SlideStatus
{
    public const string Classified = "classified";
    public const string NoTissue = "no tissue";
    public const string Failed = "failed";
}

/// <summary>A classified slide: its plan, every tissue patch's probabilities, and each aggregator's call.</summary>
public sealed record SlideResult(
    string SlidePath,
    string Status,
    TilePlan? Plan,
    PatchProbabilities Patches,
    IReadOnlyList<SlideCall> Calls,
    string ExecutionProvider,
    double Seconds,
    string? Error = null)
{
    public string SlideName => Path.GetFileNameWithoutExtension(SlidePath);

    public SlideCall? Call(string method) => Calls.FirstOrDefault(c => c.Method == method);
}
