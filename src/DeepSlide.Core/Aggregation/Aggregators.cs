using DeepSlide.Models;

namespace DeepSlide.Aggregation;

public static class Aggregators
{
    /// <summary>Thresholds used when a bundle has not been tuned.</summary>
    public const double DefaultThreshold = 0.5;

    /// <summary>The aggregators a model bundle configures: majority, mean, thresholding (tuned or default), and the learned one once tuned.</summary>
    public static IReadOnlyList<ISlideAggregator> FromManifest(ModelManifest manifest)
    {
        IReadOnlyList<string> classes = manifest.Classes;
        double[] thresholds = classes.Select(c => manifest.Aggregation.Thresholds.TryGetValue(c, out double t) ? t : DefaultThreshold).ToArray();
        int? normal = manifest.Aggregation.NormalClass is string n ? classes.ToList().IndexOf(n) : null;
        var aggregators = new List<ISlideAggregator>
        {
            new MajorityVoteAggregator(normal, manifest.Aggregation.MinShares?.GetValueOrDefault("majority") ?? 0),
            new MeanProbabilityAggregator(normal, manifest.Aggregation.MinShares?.GetValueOrDefault("mean") ?? 0),
            new ThresholdAggregator(thresholds, normal, manifest.Aggregation.MinShare, manifest.Aggregation.MinFocus),
        };
        if (manifest.Aggregation.Learned is { } learned)
        {
            aggregators.Add(LearnedAggregator.FromSpec(learned, classes.Count));
        }

        if (manifest.Aggregation.Mil is { } mil)
        {
            aggregators.Add(MilAggregator.FromSpec(mil, classes.Count));
        }

        return aggregators;
    }
}
