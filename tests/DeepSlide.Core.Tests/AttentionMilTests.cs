using DeepSlide.Learning;

namespace DeepSlide.Core.Tests;

public class AttentionMilTests
{
    private static (float[] Bag, int N) Bag(int n, int d, int seed)
    {
        var random = new Random(seed);
        return (Enumerable.Range(0, n * d).Select(_ => (float)(random.NextDouble() * 2 - 0.5)).ToArray(), n);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Every_gradient_matches_finite_differences(bool dropout)
    {
        AttentionMil model = AttentionMil.Create(features: 5, classes: 3, embedding: 4, attention: 3, seed: 1);
        var random = new Random(2);
        for (int i = 0; i < model.Parameters.Length; i++)
        {
            model.Parameters[i] += (random.NextDouble() - 0.5) * 0.2; // non-zero biases too
        }

        (float[] bag, int n) = Bag(6, 5, 3);
        double[]? mask = dropout ? Enumerable.Range(0, 6 * 4).Select(i => i % 3 == 0 ? 0.0 : 1.5).ToArray() : null;
        var analytic = new double[model.Parameters.Length];
        model.LossAndGradient(bag, n, label: 2, weight: 1.3, analytic, mask);

        const double Epsilon = 1e-6;
        for (int k = 0; k < model.Parameters.Length; k++)
        {
            double keep = model.Parameters[k];
            model.Parameters[k] = keep + Epsilon;
            double plus = model.LossAndGradient(bag, n, 2, 1.3, new double[analytic.Length], mask);
            model.Parameters[k] = keep - Epsilon;
            double minus = model.LossAndGradient(bag, n, 2, 1.3, new double[analytic.Length], mask);
            model.Parameters[k] = keep;
            double numeric = (plus - minus) / (2 * Epsilon);
            Assert.True(Math.Abs(numeric - analytic[k]) <= 1e-6 + 1e-5 * Math.Abs(numeric), $"parameter {k}: analytic {analytic[k]}, numeric {numeric}");
        }
    }

    [Fact]
    public void Attention_is_a_distribution_and_predictions_are_probabilities()
    {
        AttentionMil model = AttentionMil.Create(features: 8, classes: 2, seed: 4);
        (float[] bag, int n) = Bag(10, 8, 5);
        (double[] p, double[] a) = model.Predict(bag, n);
        Assert.Equal(1, a.Sum(), 9);
        Assert.All(a, v => Assert.InRange(v, 0, 1));
        Assert.Equal(1, p.Sum(), 9);
    }

    [Fact]
    public void The_same_seed_gives_the_same_model()
    {
        Assert.Equal(AttentionMil.Create(16, 2, seed: 9).Parameters, AttentionMil.Create(16, 2, seed: 9).Parameters);
        Assert.NotEqual(AttentionMil.Create(16, 2, seed: 9).Parameters, AttentionMil.Create(16, 2, seed: 10).Parameters);
    }
}
