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

    /// <summary>The model's class colours (its manifest's <c>classColours</c>), when it names any.</summary>
    public IReadOnlyDictionary<string, (byte R, byte G, byte B)>? ClassColours { get; init; }

    public SlideCall? Call(string method) => Calls.FirstOrDefault(c => c.Method == method);
}
