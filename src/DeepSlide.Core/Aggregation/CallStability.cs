namespace DeepSlide.Aggregation;

/// <summary>
/// Whether a slide's calls rest on a margin an approximate model (int8) could cross: each aggregator is asked again
/// with every patch's probability of one class moved up, then down, by <c>margin</c> (the other classes scaled to keep
/// the sum), for each class. A call that changes under any of these is unsure at that margin. Every patch is moved,
/// including those the exact model has already classified: the pipeline's aggregate step cannot tell them apart, and
/// it must decide as <c>classify</c> does.
/// </summary>
public static class CallStability
{
    /// <summary>The aggregators whose call changes under some push of at most <paramref name="margin"/>; empty when none.</summary>
    public static IReadOnlyList<string> Unsure(PatchProbabilities patches, IReadOnlyList<ISlideAggregator> aggregators, IReadOnlyList<SlideCall> calls, double margin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(margin);
        var unsure = new List<string>();
        if (patches.Count == 0 || margin == 0)
        {
            return unsure;
        }

        // Attention MIL reads the patches' features, not their probabilities, so no push can move it.
        var asked = aggregators.Where(a => !a.NeedsFeatures).ToList();
        for (int c = 0; c < patches.Classes.Count && asked.Count > 0; c++)
        {
            foreach (double push in (double[])[margin, -margin])
            {
                PatchProbabilities pushed = Push(patches, c, push);
                foreach (ISlideAggregator aggregator in asked.ToList())
                {
                    string? before = calls.FirstOrDefault(call => call.Method == aggregator.Name)?.Label;
                    if (aggregator.Aggregate(pushed).Label != before)
                    {
                        unsure.Add(aggregator.Name);
                        asked.Remove(aggregator);
                    }
                }
            }
        }

        return unsure;
    }

    private static PatchProbabilities Push(PatchProbabilities patches, int pushedClass, double push)
    {
        int classes = patches.Classes.Count;
        float[] values = (float[])patches.Values.Clone();
        for (int i = 0; i < patches.Count; i++)
        {
            Span<float> row = values.AsSpan(i * classes, classes);
            float before = row[pushedClass], after = (float)Math.Clamp(before + push, 0, 1);
            float rest = 1 - before, scale = rest > 0 ? (1 - after) / rest : 0;
            for (int c = 0; c < classes; c++)
            {
                row[c] = c == pushedClass ? after : rest > 0 ? row[c] * scale : (1 - after) / (classes - 1);
            }
        }

        return new PatchProbabilities(patches.Classes, values) { Features = patches.Features, Grid = patches.Grid };
    }
}
