using DeepSlide.Learning;
using DeepSlide.Models;

namespace DeepSlide.Aggregation;

/// <summary>
/// A slide classifier learned on validation slides: logistic regression on per-slide features — the share of
/// patches predicted as each class, the mean probability of each class, the share of confident (&gt; 0.9) patches
/// of each class, the mean and spread of patch confidence, and for each class the evidence a small focus leaves:
/// how many confident patches it has and how large their largest connected cluster is, on a log scale in patches
/// (not as a share, which a small focus on a large slide drowns in). Bundles tuned before the focus features keep
/// their first 3 x classes + 2.
/// </summary>
public sealed class LearnedAggregator(SoftmaxModel model) : ISlideAggregator
{
    /// <summary>Fewer validation slides of any class than this and no learned aggregator is trained.</summary>
    public const int MinSlidesPerClass = 3;

    public string Name => "learned";

    public SoftmaxModel Model { get; } = model;

    public static int FeatureCount(int classes) => 5 * classes + 2;

    private static readonly double FocusScale = Math.Log(101);

    public static float[] Features(PatchProbabilities patches)
    {
        int c = patches.Classes.Count;
        var f = new float[FeatureCount(c)];
        if (patches.Count == 0)
        {
            return f;
        }

        double[] mean = patches.MeanProbabilities();
        int[] counts = patches.PredictedCounts();
        double sumConfidence = 0, sumSquares = 0;
        for (int i = 0; i < patches.Count; i++)
        {
            (int cls, float confidence) = patches.Prediction(i);
            sumConfidence += confidence;
            sumSquares += confidence * confidence;
            if (confidence > 0.9f)
            {
                f[2 * c + cls] += 1f / patches.Count;
            }
        }

        for (int k = 0; k < c; k++)
        {
            f[k] = counts[k] / (float)patches.Count;
            f[c + k] = (float)mean[k];
        }

        double m = sumConfidence / patches.Count;
        f[3 * c] = (float)m;
        f[3 * c + 1] = (float)Math.Sqrt(Math.Max(0, sumSquares / patches.Count - m * m));
        for (int k = 0; k < c; k++)
        {
            bool Confident(int i) => patches.Prediction(i) is (int cls, float confidence) && cls == k && confidence > 0.9f;
            f[3 * c + 2 + k] = (float)(Math.Log(1 + Math.Round(f[2 * c + k] * patches.Count)) / FocusScale);
            f[4 * c + 2 + k] = (float)(Math.Log(1 + patches.LargestCluster(Confident)) / FocusScale);
        }

        return f;
    }

    /// <summary>Trains on validation slides, or returns why it cannot (too few slides of some class).</summary>
    public static (LearnedAggregator? Aggregator, string? Reason) Train(IReadOnlyList<LabelledSlidePatches> slides, int seed = 0)
    {
        IReadOnlyList<string> classes = slides[0].Patches.Classes;
        int[] perClass = classes.Select((_, c) => slides.Count(s => s.Truth == c)).ToArray();
        int fewest = Array.IndexOf(perClass, perClass.Min());
        if (perClass[fewest] < MinSlidesPerClass)
        {
            return (null, $"the learned aggregator needs at least {MinSlidesPerClass} validation slides per class; '{classes[fewest]}' has {perClass[fewest]}.");
        }

        int d = FeatureCount(classes.Count);
        float[] x = slides.SelectMany(s => Features(s.Patches)).ToArray();
        int[] y = slides.Select(s => s.Truth).ToArray();
        (SoftmaxModel model, _) = SoftmaxRegression.Train(x, y, d, classes.Count, null, null, new SoftmaxTrainingOptions { L2 = 0.05, MaxEpochs = 300, Patience = 30, BatchSize = 32, Seed = seed });
        return (new LearnedAggregator(model), null);
    }

    public SlideCall Aggregate(PatchProbabilities patches)
    {
        var p = new float[patches.Classes.Count];
        if (patches.Count == 0)
        {
            return new SlideCall(Name, null, new double[p.Length], "no tissue patches");
        }

        Model.Predict(Features(patches).AsSpan(0, Model.Features), p);
        double[] scores = p.Select(v => (double)v).ToArray();
        return new SlideCall(Name, patches.Classes[Calls.ArgMax(scores)], scores);
    }

    public LearnedAggregatorSpec ToSpec() => new() { Features = Model.Features, Weights = Model.Weights, Bias = Model.Bias };

    public static LearnedAggregator FromSpec(LearnedAggregatorSpec spec, int classes) =>
        new(new SoftmaxModel(classes, spec.Features, [.. spec.Weights], [.. spec.Bias]));
}
