using DeepSlide.Evaluation;

namespace DeepSlide.Core.Tests;

public class MetricsTests
{
    private static readonly string[] Classes = ["a", "b", "c"];

    [Fact]
    public void Per_class_and_averaged_metrics_match_hand_computed_values()
    {
        // Truth a,a,a,b,b,c; calls a,a,b,b,b and nothing for the c slide.
        ClassificationMetrics m = Metrics.Compute(Classes, [0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, null]);
        Assert.Equal(4 / 6.0, m.Accuracy, 12);
        Assert.Equal((2 / 3.0 + 1 + 0) / 3, m.BalancedAccuracy, 12);
        Assert.Equal([1, 2 / 3.0, 0], m.PerClass.Select(c => c.Precision), new RoundedComparer());
        Assert.Equal([2 / 3.0, 1, 0], m.PerClass.Select(c => c.Recall), new RoundedComparer());
        Assert.Equal([0.8, 0.8, 0], m.PerClass.Select(c => c.F1), new RoundedComparer());
        Assert.Equal([3, 2, 1], m.PerClass.Select(c => c.Support));
        Assert.Equal((1 + 2 / 3.0) / 3, m.Macro.Precision, 12);
        Assert.Equal(1.6 / 3, m.Macro.F1, 12);
        Assert.Equal((0.8 * 3 + 0.8 * 2) / 6, m.Weighted.F1, 12);
        Assert.Equal([2, 1, 0, 0], m.Confusion[0]);
        Assert.Equal([0, 0, 0, 1], m.Confusion[2]);
        Assert.Equal([2 / 3.0, 1 / 3.0, 0, 0], m.ConfusionNormalized[0], new RoundedComparer());
    }

    [Fact]
    public void Auc_is_the_chance_a_positive_outscores_a_negative_with_ties_counting_half()
    {
        Assert.Equal(0.75, Roc.Auc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]));
        Assert.Equal(0.5, Roc.Auc([0.5, 0.5], [true, false]));
        Assert.Equal(1.0, Roc.Auc([0.9, 0.8, 0.2], [true, true, false]));
        Assert.Null(Roc.Auc([0.9, 0.8], [true, true]));
    }

    [Fact]
    public void The_roc_curve_steps_through_each_distinct_score()
    {
        IReadOnlyList<RocPoint> curve = Roc.Curve([0.1, 0.4, 0.35, 0.8], [false, false, true, true]);
        Assert.Equal([(0.0, 0.0), (0, 0.5), (0.5, 0.5), (0.5, 1), (1, 1)], curve.Select(p => (p.FalsePositiveRate, p.TruePositiveRate)));
    }

    [Fact]
    public void Macro_auc_averages_the_classes_that_have_positives_and_negatives()
    {
        double[][] scores = [[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1]];
        ClassificationMetrics m = Metrics.Compute(Classes, [0, 0, 1, 1], [0, 0, 1, 1], scores);
        Assert.Equal(1.0, m.PerClass[0].Auc);
        Assert.Equal(1.0, m.PerClass[1].Auc);
        Assert.Null(m.PerClass[2].Auc);
        Assert.Equal(1.0, m.MacroAuc);
    }

    [Fact]
    public void Bootstrap_intervals_are_seeded_and_bracket_the_estimate()
    {
        var random = new Random(3);
        int n = 200;
        int[] truths = Enumerable.Range(0, n).Select(i => i % 3).ToArray();
        int?[] calls = truths.Select(t => random.NextDouble() < 0.8 ? t : (int?)((t + 1) % 3)).ToArray();
        double[][] scores = truths.Select(t => Enumerable.Range(0, 3).Select(k => (k == t ? 0.5 : 0) + random.NextDouble() * 0.6).ToArray()).ToArray();
        ClassificationMetrics a = Metrics.Compute(Classes, truths, calls, scores, new BootstrapOptions(500, Seed: 1));
        ClassificationMetrics b = Metrics.Compute(Classes, truths, calls, scores, new BootstrapOptions(500, Seed: 1));
        Assert.Equal(a.AccuracyInterval, b.AccuracyInterval);
        Assert.Equal(a.MacroAucInterval, b.MacroAucInterval);
        Assert.InRange(a.Accuracy, a.AccuracyInterval!.Low, a.AccuracyInterval.High);
        Assert.InRange(a.MacroAuc!.Value, a.MacroAucInterval!.Low, a.MacroAucInterval.High);
        Assert.True(a.AccuracyInterval.High - a.AccuracyInterval.Low is > 0.05 and < 0.25);
        Assert.NotEqual(a.AccuracyInterval, Metrics.Compute(Classes, truths, calls, scores, new BootstrapOptions(500, Seed: 2)).AccuracyInterval);
    }

    [Fact]
    public void Cohens_kappa_corrects_agreement_for_chance()
    {
        Assert.Equal(0.5, Metrics.CohensKappa([0, 0, 1, 1], [0, 1, 1, 1]), 12);
        Assert.Equal(1.0, Metrics.CohensKappa([0, 1, 2], [0, 1, 2]), 12);
        Assert.True(Metrics.CohensKappa([0, 1, 0, 1], [1, 0, 1, 0]) < 0);
    }

    [Fact]
    public void Nothing_to_evaluate_is_an_error()
    {
        Assert.Throws<DeepSlideException>(() => Metrics.Compute(Classes, [], []));
    }

    private sealed class RoundedComparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-9;

        public int GetHashCode(double obj) => 0;
    }
}
