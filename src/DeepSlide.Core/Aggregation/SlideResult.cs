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

    /// <summary>What an int8 model's FP32 graph classified again, when the bundle carries one.</summary>
    public ConfirmedCalls? Confirmed { get; init; }

    public SlideCall? Call(string method) => Calls.FirstOrDefault(c => c.Method == method);
}

/// <summary>
/// What an int8 bundle's FP32 graph classified again on a slide: <see cref="Patches"/> patches whose top two int8
/// probabilities were closer than <see cref="PatchMargin"/>, and the whole slide when the aggregators in
/// <see cref="Unsure"/> would have changed their call under a push of <see cref="Margin"/>. <see cref="Patches"/> is
/// null where the count was not gathered (the pipeline's ranges each do their own).
/// </summary>
public sealed record ConfirmedCalls(int? Patches, IReadOnlyList<string> Unsure, double PatchMargin, double Margin)
{
    public bool WholeSlide => Unsure.Count > 0;

    public string Describe() => WholeSlide
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"classified again in fp32: {string.Join(", ", Unsure)} unsure on int8 at a margin of {Margin:0.###}")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(Patches is int n ? $"{n} patch(es)" : "the patches")} whose top two int8 probabilities are within {PatchMargin:0.###} classified again in fp32");
}
