namespace DeepSlide.Aggregation;

/// <summary>A validation slide: its patch probabilities and its true class index.</summary>
public sealed record LabelledSlidePatches(string Slide, PatchProbabilities Patches, int Truth);

public static class SlideMetrics
{
    /// <summary>Mean recall over the classes present among the truths; slides called nothing count as wrong.</summary>
    public static double BalancedAccuracy(IReadOnlyList<int> truths, IReadOnlyList<int?> calls)
    {
        double sum = 0;
        int classes = 0;
        foreach (int c in truths.Distinct())
        {
            int total = 0, right = 0;
            for (int i = 0; i < truths.Count; i++)
            {
                if (truths[i] == c)
                {
                    total++;
                    right += calls[i] == c ? 1 : 0;
                }
            }

            sum += right / (double)total;
            classes++;
        }

        return classes == 0 ? 0 : sum / classes;
    }
}
