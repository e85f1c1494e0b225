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
