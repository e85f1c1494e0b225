namespace DeepSlide.Aggregation;

/// <summary>
/// One aggregator's call on a slide: the label (null when it cannot call one, with <see cref="Note"/> saying why)
/// and a score per class (its meaning depends on the method: a share, a mean probability, a probability).
/// </summary>
public sealed record SlideCall(string Method, string? Label, IReadOnlyList<double> Scores, string? Note = null)
{
    /// <summary>A weight per patch (attention MIL's), for pictures; null for methods without one.</summary>
    public IReadOnlyList<double>? PatchWeights { get; init; }

    /// <summary>The focus a call by focus rests on (for a normal call, the largest one that fell short); else null.</summary>
    public FocusArea? Focus { get; init; }
}

/// <summary>
/// A focus on the plan's grid: how many patches it holds and the cells it spans, from (<see cref="Column"/>,
/// <see cref="Row"/>) over <see cref="Columns"/> x <see cref="Rows"/> cells. A viewer turns cells into level-0
/// pixels with the plan's stride.
/// </summary>
public sealed record FocusArea(int Patches, int Column, int Row, int Columns, int Rows)
{
    /// <summary>The class whose patches it is, where the one who measured it says.</summary>
    public string? Class { get; init; }
}

/// <summary>Turns the patch probabilities of one slide into a slide label.</summary>
public interface ISlideAggregator
{
    string Name { get; }

    /// <summary>True when the aggregator needs the patches' backbone features, not only their probabilities.</summary>
    bool NeedsFeatures => false;

    SlideCall Aggregate(PatchProbabilities patches);
}

internal static class Calls
{
    public const string NoPatches = "no tissue patches";

    /// <summary>The index of the highest score; ties go to <paramref name="tieBreak"/>'s highest, then the lowest index.</summary>
    public static int ArgMax(IReadOnlyList<double> scores, IReadOnlyList<double>? tieBreak = null)
    {
        int best = 0;
        for (int c = 1; c < scores.Count; c++)
        {
            if (scores[c] > scores[best] || (scores[c] == scores[best] && tieBreak is not null && tieBreak[c] > tieBreak[best]))
            {
                best = c;
            }
        }

        return best;
    }

    /// <summary>
    /// "Otherwise predict normal": the leading non-normal class when its score reaches <paramref name="minShare"/>,
    /// the normal class otherwise. Null when no normal class or no minimum is set (the plain rule applies).
    /// </summary>
    public static SlideCall? NormalRule(string method, PatchProbabilities patches, double[] scores, int? normalClass, double minShare)
    {
        if (normalClass is not int normal || minShare <= 0)
        {
            return null;
        }

        var others = scores.Select((s, c) => c == normal ? double.NegativeInfinity : s).ToArray();
        int best = ArgMax(others);
        bool abnormal = others[best] >= minShare;
        return new SlideCall(method, patches.Classes[abnormal ? best : normal], scores, abnormal ? null : $"no other class reaches a share of {minShare:0.###}");
    }
}

/// <summary>
/// The class most patches are predicted as; ties go to the higher mean probability, then the lower index. With a
/// normal class and a tuned minimum share, the leading other class when its share of patches reaches it, and normal
/// otherwise: on a slide whose tumour is a third of the tissue, the plain vote would say normal.
/// </summary>
public sealed class MajorityVoteAggregator(int? normalClass = null, double minShare = 0) : ISlideAggregator
{
    public string Name => "majority";

    public int? NormalClass { get; } = normalClass;

    public double MinShare { get; } = minShare;

    public SlideCall Aggregate(PatchProbabilities patches)
    {
        if (patches.Count == 0)
        {
            return new SlideCall(Name, null, new double[patches.Classes.Count], Calls.NoPatches);
        }

        double[] shares = patches.PredictedCounts().Select(c => c / (double)patches.Count).ToArray();
        return Calls.NormalRule(Name, patches, shares, NormalClass, MinShare)
            ?? new SlideCall(Name, patches.Classes[Calls.ArgMax(shares, patches.MeanProbabilities())], shares);
    }
}

/// <summary>
/// The class with the highest probability averaged over all patches; with a normal class and a tuned minimum, the
/// leading other class when its mean probability reaches it, and normal otherwise.
/// </summary>
public sealed class MeanProbabilityAggregator(int? normalClass = null, double minShare = 0) : ISlideAggregator
{
    public string Name => "mean";

    public int? NormalClass { get; } = normalClass;

    public double MinShare { get; } = minShare;

    public SlideCall Aggregate(PatchProbabilities patches)
    {
        if (patches.Count == 0)
        {
            return new SlideCall(Name, null, new double[patches.Classes.Count], Calls.NoPatches);
        }

        double[] mean = patches.MeanProbabilities();
        return Calls.NormalRule(Name, patches, mean, NormalClass, MinShare) ?? new SlideCall(Name, patches.Classes[Calls.ArgMax(mean)], mean);
    }
}

/// <summary>
/// DeepSlide's thresholding: a patch counts for its predicted class c when its confidence is strictly above t_c;
/// the slide is the class with the largest share of counted patches. With a normal class and a tuned minimum share,
/// the slide is the leading other class when it reaches <see cref="MinShare"/>, and normal otherwise
/// ("otherwise predict normal"). With a normal class and a minimum focus, the evidence is the largest connected
/// cluster of counted patches of each other class instead of their share: a small tumour focus the patch map paints
/// is not voted away by the benign tissue around it, and scattered false positives do not add up to a call.
/// </summary>
public sealed class ThresholdAggregator(IReadOnlyList<double> thresholds, int? normalClass = null, double minShare = 0, int minFocus = 0) : ISlideAggregator
{
    public string Name => "threshold";

    public IReadOnlyList<double> Thresholds { get; } = thresholds;

    public int? NormalClass { get; } = normalClass;

    public double MinShare { get; } = minShare;

    public int MinFocus { get; } = minFocus;

    public SlideCall Aggregate(PatchProbabilities patches)
    {
        if (Thresholds.Count != patches.Classes.Count)
        {
            throw new ArgumentException($"{Thresholds.Count} thresholds for {patches.Classes.Count} classes.");
        }

        if (patches.Count == 0)
        {
            return new SlideCall(Name, null, new double[patches.Classes.Count], Calls.NoPatches);
        }

        var shares = new double[patches.Classes.Count];
        for (int i = 0; i < patches.Count; i++)
        {
            if (Counts(patches, i) is int c)
            {
                shares[c] += 1.0 / patches.Count;
            }
        }

        if (NormalClass is int normal && MinFocus > 0)
        {
            // The normal class's own cluster (most of the tissue) is never measured: it cannot be the call.
            FocusArea?[] areas = [.. Enumerable.Range(0, patches.Classes.Count).Select(c => c == normal ? null : patches.LargestFocus(i => Counts(patches, i) == c))];
            int[] foci = [.. Enumerable.Range(0, patches.Classes.Count).Select(c => c == normal ? -1 : areas[c]?.Patches ?? patches.LargestCluster(i => Counts(patches, i) == c))];
            int best = Calls.ArgMax([.. foci.Select(f => (double)f)], shares);
            FocusArea? focus = areas[best] is { } area ? area with { Class = patches.Classes[best] } : null;
            return foci[best] >= MinFocus
                ? new SlideCall(Name, patches.Classes[best], shares, $"a focus of {Patches(foci[best], patches.Classes[best])}") { Focus = focus }
                : new SlideCall(Name, patches.Classes[normal], shares, $"no focus of {Patches(MinFocus)} of another class (largest {foci[best]})") { Focus = focus };
        }

        if (Calls.NormalRule(Name, patches, shares, NormalClass, MinShare) is { } normalCall)
        {
            return normalCall;
        }

        if (shares.All(s => s == 0))
        {
            return new SlideCall(Name, null, shares, "no patch is above its class threshold");
        }

        return new SlideCall(Name, patches.Classes[Calls.ArgMax(shares)], shares);
    }

    private static string Patches(int count, string? of = null) => $"{count} {of}{(of is null ? "" : " ")}{(count == 1 ? "patch" : "patches")}";

    // Compared in float, the precision probabilities come in: 0.8f must not count as above a threshold of 0.8.
    private int? Counts(PatchProbabilities patches, int i)
    {
        (int c, float confidence) = patches.Prediction(i);
        return confidence > (float)Thresholds[c] ? c : null;
    }
}
