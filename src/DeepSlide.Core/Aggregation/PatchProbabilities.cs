namespace DeepSlide.Aggregation;

/// <summary>The class probabilities of a slide's patches: <see cref="Count"/> rows of <see cref="Classes"/>.Count values.</summary>
public sealed class PatchProbabilities
{
    public PatchProbabilities(IReadOnlyList<string> classes, float[] values)
    {
        if (classes.Count == 0 || values.Length % classes.Count != 0)
        {
            throw new ArgumentException("Probabilities must be whole rows of one value per class.", nameof(values));
        }

        Classes = classes;
        Values = values;
    }

    public IReadOnlyList<string> Classes { get; }

    public float[] Values { get; }

    /// <summary>Backbone features of each patch (rows of <see cref="FeatureCount"/>), when they were kept.</summary>
    public float[]? Features { get; init; }

    public int FeatureCount => Features is null || Count == 0 ? 0 : Features.Length / Count;

    /// <summary>How many patches' approximate (int8) outputs were replaced by the exact (FP32) model's.</summary>
    public int Reclassified { get; init; }

    /// <summary>Each patch's place on the plan's grid, when known: what the size of a focus is measured on.</summary>
    public (int Column, int Row)[]? Grid { get; init; }

    /// <summary>
    /// The most patches among those <paramref name="counts"/> that form one 8-connected cluster on the grid: the size
    /// of the largest focus they paint. Without grid places, all counted patches (one cluster as far as is known).
    /// </summary>
    public int LargestCluster(Func<int, bool> counts) =>
        Grid is null ? Enumerable.Range(0, Count).Count(counts) : LargestFocus(counts)?.Patches ?? 0;

    /// <summary>
    /// The largest 8-connected cluster of the patches <paramref name="counts"/> picks, and the grid cells it spans
    /// (the first found among equals); null without grid places or without a counted patch.
    /// </summary>
    public FocusArea? LargestFocus(Func<int, bool> counts)
    {
        if (Grid is null)
        {
            return null;
        }

        var members = new Dictionary<(int, int), bool>();
        for (int i = 0; i < Count; i++)
        {
            if (counts(i))
            {
                members[Grid[i]] = false;
            }
        }

        FocusArea? largest = null;
        var stack = new Stack<(int Column, int Row)>();
        foreach ((int, int) start in members.Keys.ToList())
        {
            if (members[start])
            {
                continue;
            }

            members[start] = true;
            stack.Push(start);
            int size = 0, left = int.MaxValue, top = int.MaxValue, right = int.MinValue, bottom = int.MinValue;
            while (stack.TryPop(out (int Column, int Row) at))
            {
                size++;
                (left, top) = (Math.Min(left, at.Column), Math.Min(top, at.Row));
                (right, bottom) = (Math.Max(right, at.Column), Math.Max(bottom, at.Row));
                for (int dc = -1; dc <= 1; dc++)
                {
                    for (int dr = -1; dr <= 1; dr++)
                    {
                        (int, int) next = (at.Column + dc, at.Row + dr);
                        if (members.TryGetValue(next, out bool seen) && !seen)
                        {
                            members[next] = true;
                            stack.Push(next);
                        }
                    }
                }
            }

            if (size > (largest?.Patches ?? 0))
            {
                largest = new FocusArea(size, left, top, right - left + 1, bottom - top + 1);
            }
        }

        return largest;
    }

    public int Count => Values.Length / Classes.Count;

    public ReadOnlySpan<float> Row(int patch) => Values.AsSpan(patch * Classes.Count, Classes.Count);

    /// <summary>The predicted class of a patch (the lowest index among equal maxima) and its probability.</summary>
    public (int Class, float Confidence) Prediction(int patch)
    {
        ReadOnlySpan<float> row = Row(patch);
        int best = 0;
        for (int c = 1; c < row.Length; c++)
        {
            if (row[c] > row[best])
            {
                best = c;
            }
        }

        return (best, row[best]);
    }

    public int[] PredictedCounts()
    {
        var counts = new int[Classes.Count];
        for (int i = 0; i < Count; i++)
        {
            counts[Prediction(i).Class]++;
        }

        return counts;
    }

    public double[] MeanProbabilities()
    {
        var mean = new double[Classes.Count];
        for (int i = 0; i < Count; i++)
        {
            ReadOnlySpan<float> row = Row(i);
            for (int c = 0; c < row.Length; c++)
            {
                mean[c] += row[c];
            }
        }

        for (int c = 0; c < mean.Length && Count > 0; c++)
        {
            mean[c] /= Count;
        }

        return mean;
    }
}
