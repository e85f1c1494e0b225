namespace DeepSlide.Aggregation;

/// <summary>A run of neighbouring grid values that all reach the best score; the choice is its centre.</summary>
public sealed record Plateau(double Low, double High, double Chosen, double Score);

public sealed record ThresholdTuning(IReadOnlyList<double> Thresholds, double MinShare, double BalancedAccuracy, double SharedThreshold, double SharedBalancedAccuracy)
{
    /// <summary>Above 0 when the focus rule was chosen: the least cluster of counted patches for a non-normal call.</summary>
    public int MinFocus { get; init; }

    /// <summary>Balanced accuracy of the share rule and of the focus rule on the validation slides (the focus rule needs a normal class).</summary>
    public double ShareRuleBalancedAccuracy { get; init; }

    public double? FocusRuleBalancedAccuracy { get; init; }

    public Plateau? MinFocusPlateau { get; init; }

    public Plateau? SharedPlateau { get; init; }

    public IReadOnlyList<Plateau> ClassPlateaus { get; init; } = [];

    public Plateau? MinSharePlateau { get; init; }
}

/// <summary>
/// Tunes DeepSlide's thresholding on validation slides by balanced accuracy. First one threshold for all classes
/// (DeepSlide's search), then each class's own by coordinate ascent, then, when a normal class is set, the least
/// share of another class that overrides "normal". Where several grid values tie, the centre of the widest run of
/// best values is taken: on a few validation slides whole ranges separate them perfectly, and their low end (a
/// threshold of 0) is the least robust choice, which made thresholding the same as majority.
/// </summary>
public static class ThresholdTuner
{
    public static IReadOnlyList<double> Grid { get; } = Enumerable.Range(0, 20).Select(i => i * 0.05).ToArray();

    /// <summary>
    /// Least shares the "otherwise normal" rule is tried with: dense below 0.05, where a small focus's share of a
    /// slide lies (two tumour patches of 42 are 0.048, which a grid in steps of 0.05 could only call normal).
    /// </summary>
    public static IReadOnlyList<double> ShareGrid { get; } = [0, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.07, 0.08, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5];

    /// <summary>Least focus sizes, in patches, the focus rule is tried with.</summary>
    public static IReadOnlyList<double> FocusGrid { get; } = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 30];

    /// <summary>
    /// Tunes the share rule (DeepSlide's) and, with a normal class, the focus rule, and keeps the one with the better
    /// balanced accuracy on the validation slides; on a tie the focus rule, which does not depend on how much of the
    /// tissue a tumour covers.
    /// </summary>
    public static ThresholdTuning Tune(IReadOnlyList<LabelledSlidePatches> slides, int? normalClass = null)
    {
        IReadOnlyList<string> classes = CheckClasses(slides);
        int[] truths = slides.Select(s => s.Truth).ToArray();
        double Score(double[] thresholds, double minShare, int minFocus = 0) => BalancedAccuracy(slides, truths, new ThresholdAggregator(thresholds, normalClass, minShare, minFocus));

        Plateau shared = Best(Grid, t => Score(Enumerable.Repeat(t, classes.Count).ToArray(), 0));
        (double[] best, Plateau[] plateaus) = Ascend(classes.Count, shared.Chosen, trial => Score(trial, 0));
        Plateau? share = normalClass is null ? null : Best(ShareGrid, s => Score(best, s));
        double minShare = share?.Chosen ?? 0;
        var tuning = new ThresholdTuning(best, minShare, Score(best, minShare), shared.Chosen, shared.Score)
        {
            SharedPlateau = shared,
            ClassPlateaus = plateaus,
            MinSharePlateau = share,
            ShareRuleBalancedAccuracy = Score(best, minShare),
        };
        if (normalClass is null)
        {
            return tuning;
        }

        // The focus rule: a shared threshold for each least focus, the best pair, then each class's threshold, then the focus again.
        Plateau focus = Best(FocusGrid, k => Best(Grid, t => Score(Enumerable.Repeat(t, classes.Count).ToArray(), 0, (int)k)).Score);
        Plateau focusShared = Best(Grid, t => Score(Enumerable.Repeat(t, classes.Count).ToArray(), 0, (int)focus.Chosen));
        (double[] focusThresholds, Plateau[] focusPlateaus) = Ascend(classes.Count, focusShared.Chosen, trial => Score(trial, 0, (int)focus.Chosen));
        focus = Best(FocusGrid, k => Score(focusThresholds, 0, (int)k));
        double focusScore = Score(focusThresholds, 0, (int)focus.Chosen);
        tuning = tuning with { FocusRuleBalancedAccuracy = focusScore };
        return focusScore < tuning.ShareRuleBalancedAccuracy
            ? tuning
            : tuning with
            {
                Thresholds = focusThresholds,
                MinFocus = (int)focus.Chosen,
                BalancedAccuracy = focusScore,
                ClassPlateaus = focusPlateaus,
                MinFocusPlateau = focus,
            };
    }

    // Each class's own threshold by coordinate ascent from a shared one, at most three passes.
    private static (double[] Thresholds, Plateau[] Plateaus) Ascend(int classes, double start, Func<double[], double> score)
    {
        double[] best = Enumerable.Repeat(start, classes).ToArray();
        var plateaus = new Plateau[classes];
        for (int pass = 0; pass < 3; pass++)
        {
            bool changed = false;
            for (int c = 0; c < classes; c++)
            {
                double[] trial = (double[])best.Clone();
                plateaus[c] = Best(Grid, t =>
                {
                    trial[c] = t;
                    return score(trial);
                });
                changed |= plateaus[c].Chosen != best[c];
                best[c] = plateaus[c].Chosen;
            }

            if (!changed)
            {
                break;
            }
        }

        return (best, plateaus);
    }

    /// <summary>The minimum share at which a normal-aware aggregator (majority, mean) calls a non-normal class, tuned the same way.</summary>
    public static Plateau TuneMinShare(IReadOnlyList<LabelledSlidePatches> slides, Func<double, ISlideAggregator> aggregator)
    {
        CheckClasses(slides);
        int[] truths = slides.Select(s => s.Truth).ToArray();
        return Best(ShareGrid, share => BalancedAccuracy(slides, truths, aggregator(share)));
    }

    /// <summary>The best score over <paramref name="grid"/>, and the centre of the widest run of grid values reaching it.</summary>
    public static Plateau Best(IReadOnlyList<double> grid, Func<double, double> score)
    {
        double[] scores = grid.Select(score).ToArray();
        double top = scores.Max();
        int bestStart = 0, bestLength = 0;
        for (int i = 0; i < scores.Length;)
        {
            if (scores[i] != top)
            {
                i++;
                continue;
            }

            int start = i;
            while (i < scores.Length && scores[i] == top)
            {
                i++;
            }

            if (i - start > bestLength)
            {
                (bestStart, bestLength) = (start, i - start);
            }
        }

        return new Plateau(grid[bestStart], grid[bestStart + bestLength - 1], grid[bestStart + ((bestLength - 1) / 2)], top);
    }

    private static IReadOnlyList<string> CheckClasses(IReadOnlyList<LabelledSlidePatches> slides)
    {
        if (slides.Count == 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, null, "no validation slides to tune on.");
        }

        IReadOnlyList<string> classes = slides[0].Patches.Classes;
        string[] missing = classes.Where((_, c) => slides.All(s => s.Truth != c)).ToArray();
        if (missing.Length > 0)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.InvalidDataset,
                null,
                $"tuning needs validation slides of every class; there are none of {string.Join(", ", missing)}.");
        }

        return classes;
    }

    private static double BalancedAccuracy(IReadOnlyList<LabelledSlidePatches> slides, int[] truths, ISlideAggregator aggregator)
    {
        IReadOnlyList<string> classes = slides[0].Patches.Classes;
        return SlideMetrics.BalancedAccuracy(truths, slides.Select(s => IndexOf(classes, aggregator.Aggregate(s.Patches).Label)).ToArray());
    }

    private static int? IndexOf(IReadOnlyList<string> classes, string? label)
    {
        for (int c = 0; c < classes.Count; c++)
        {
            if (classes[c] == label)
            {
                return c;
            }
        }

        return null;
    }
}
