namespace DeepSlide.Aggregation;

public sealed record ThresholdTuning(IReadOnlyList<double> Thresholds, double MinShare, double BalancedAccuracy, double SharedThreshold, double SharedBalancedAccuracy);

/// <summary>
/// Tunes DeepSlide's thresholding on validation slides by balanced accuracy, the lowest value winning ties.
/// First one threshold for all classes (DeepSlide's search), then each class's own by coordinate ascent, then,
/// when a normal class is set, the least share of another class that overrides "normal".
/// </summary>
public static class ThresholdTuner
{
    public static IReadOnlyList<double> Grid { get; } = Enumerable.Range(0, 20).Select(i => i * 0.05).ToArray();

    public static IReadOnlyList<double> ShareGrid { get; } = Enumerable.Range(0, 11).Select(i => i * 0.05).ToArray();

    public static ThresholdTuning Tune(IReadOnlyList<LabelledSlidePatches> slides, int? normalClass = null)
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

        int[] truths = slides.Select(s => s.Truth).ToArray();
        double Score(double[] thresholds, double minShare)
        {
            var aggregator = new ThresholdAggregator(thresholds, normalClass, minShare);
            return SlideMetrics.BalancedAccuracy(truths, slides.Select(s => IndexOf(classes, aggregator.Aggregate(s.Patches).Label)).ToArray());
        }

        // Grid values ascend and only a strictly better score moves the choice, so ties keep the lowest value.
        double shared = Grid[0], sharedScore = double.NegativeInfinity;
        foreach (double t in Grid)
        {
            double score = Score(Enumerable.Repeat(t, classes.Count).ToArray(), 0);
            if (score > sharedScore)
            {
                (shared, sharedScore) = (t, score);
            }
        }

        double[] best = Enumerable.Repeat(shared, classes.Count).ToArray();
        double bestScore = sharedScore;
        for (int pass = 0; pass < 3; pass++)
        {
            bool changed = false;
            for (int c = 0; c < classes.Count; c++)
            {
                double keep = best[c];
                foreach (double t in Grid)
                {
                    best[c] = t;
                    double score = Score(best, 0);
                    if (score > bestScore || (score == bestScore && t < keep))
                    {
                        changed |= t != keep;
                        (keep, bestScore) = (t, score);
                    }
                }

                best[c] = keep;
            }

            if (!changed)
            {
                break;
            }
        }

        double minShare = 0;
        if (normalClass is not null)
        {
            foreach (double share in ShareGrid.Skip(1))
            {
                double score = Score(best, share);
                if (score > bestScore)
                {
                    (minShare, bestScore) = (share, score);
                }
            }
        }

        return new ThresholdTuning(best, minShare, bestScore, shared, sharedScore);
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
