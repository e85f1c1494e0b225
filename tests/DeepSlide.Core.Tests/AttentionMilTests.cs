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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void With_the_instance_loss_every_gradient_of_the_network_and_of_the_instance_classifiers_matches_finite_differences(bool dropout)
    {
        AttentionMil model = AttentionMil.Create(features: 5, classes: 3, embedding: 4, attention: 3, seed: 1);
        var instances = new InstanceClustering(classes: 3, embedding: 4, weight: 0.7, mostPerBag: 2, seed: 5);
        var random = new Random(2);
        foreach (double[] parameters in (double[][])[model.Parameters, instances.Parameters])
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                parameters[i] += (random.NextDouble() - 0.5) * 0.2;
            }
        }

        // 40 patches take 2 from each end of the attention ranking.
        (float[] bag, int n) = Bag(40, 5, 3);
        Assert.Equal(2, instances.PerBag(n));
        double[]? mask = dropout ? Enumerable.Range(0, n * 4).Select(i => i % 3 == 0 ? 0.0 : 1.5).ToArray() : null;
        var analytic = new double[model.Parameters.Length];
        double withInstances = model.LossAndGradient(bag, n, label: 1, weight: 1.3, analytic, mask, instances);
        double[] analyticInstances = (double[])instances.Gradient.Clone();
        Assert.True(withInstances > model.LossAndGradient(bag, n, 1, 1.3, new double[analytic.Length], mask), "the instance loss adds to the bag's");
        Assert.Contains(analyticInstances, g => g != 0);

        double Loss() => model.LossAndGradient(bag, n, 1, 1.3, new double[analytic.Length], mask, instances);
        const double Epsilon = 1e-6;
        foreach ((double[] parameters, double[] expected) in (IEnumerable<(double[], double[])>)[(model.Parameters, analytic), (instances.Parameters, analyticInstances)])
        {
            for (int k = 0; k < parameters.Length; k++)
            {
                double keep = parameters[k];
                parameters[k] = keep + Epsilon;
                double plus = Loss();
                parameters[k] = keep - Epsilon;
                double minus = Loss();
                parameters[k] = keep;
                double numeric = (plus - minus) / (2 * Epsilon);
                Assert.True(Math.Abs(numeric - expected[k]) <= 1e-6 + 1e-5 * Math.Abs(numeric), $"parameter {k} of {parameters.Length}: analytic {expected[k]}, numeric {numeric}");
            }
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

public class AttentionMilTrainingTests
{
    /// <summary>
    /// Bags of 40 instances: benign instances cluster around one point; a positive bag plants 3 "tumour" instances
    /// (5-10%) around another. No instance label is ever given.
    /// </summary>
    private static List<FeatureBag> Bags(int count, int seed, out List<int[]> planted)
    {
        var random = new Random(seed);
        var bags = new List<FeatureBag>();
        planted = [];
        for (int b = 0; b < count; b++)
        {
            int label = b % 2;
            var x = new float[40 * 16];
            int[] tumour = label == 1 ? Enumerable.Range(0, 40).OrderBy(_ => random.Next()).Take(2 + random.Next(3)).ToArray() : [];
            for (int i = 0; i < 40; i++)
            {
                for (int j = 0; j < 16; j++)
                {
                    double centre = tumour.Contains(i) ? (j < 4 ? 2.0 : 0.2) : (j < 4 ? 0.2 : 1.0);
                    x[i * 16 + j] = (float)Math.Max(0, centre + (random.NextDouble() - 0.5) * 0.8);
                }
            }

            bags.Add(new FeatureBag($"bag{b}", x, 40, label));
            planted.Add(tumour);
        }

        return bags;
    }

    [Fact]
    public void Mil_learns_sparse_positive_bags_and_attends_to_the_planted_instances()
    {
        List<FeatureBag> train = Bags(40, 1, out _);
        List<FeatureBag> val = Bags(10, 2, out _);
        List<FeatureBag> test = Bags(20, 3, out List<int[]> planted);
        (AttentionMil model, IReadOnlyList<MilEpochLog> log) = AttentionMilTrainer.Train(train, val, 16, 2, new AttentionMilOptions { Embedding = 16, Attention = 8, LearningRate = 5e-3, Seed = 7 });
        Assert.NotEmpty(log);

        int right = 0;
        var plantedAttention = new List<double>();
        var benignAttention = new List<double>();
        for (int b = 0; b < test.Count; b++)
        {
            (double[] p, double[] a) = model.Predict(test[b].Features, 40);
            right += (p[1] > p[0] ? 1 : 0) == test[b].Label ? 1 : 0;
            for (int i = 0; i < 40 && test[b].Label == 1; i++)
            {
                (planted[b].Contains(i) ? plantedAttention : benignAttention).Add(a[i]);
            }
        }

        Assert.True(right >= 19, $"{right} of 20 test bags right");
        Assert.True(plantedAttention.Average() > 3 * benignAttention.Average(), $"planted {plantedAttention.Average():0.000} vs benign {benignAttention.Average():0.000}");
    }

    [Fact]
    public void Training_is_deterministic_for_a_seed()
    {
        List<FeatureBag> train = Bags(12, 4, out _);
        var options = new AttentionMilOptions { Embedding = 8, Attention = 4, MaxEpochs = 5, Seed = 3 };
        Assert.Equal(AttentionMilTrainer.Train(train, [], 16, 2, options).Model.Parameters, AttentionMilTrainer.Train(train, [], 16, 2, options).Model.Parameters);
    }

    [Fact]
    public void A_class_without_slides_and_an_empty_bag_are_refused()
    {
        var only = new List<FeatureBag> { new("a", new float[16], 1, 0) };
        Assert.Contains("class 1 has no training slides", Assert.Throws<DeepSlideException>(() => AttentionMilTrainer.Train(only, [], 16, 2)).Message);
        var empty = new List<FeatureBag> { new("empty", [], 0, 0), new("b", new float[16], 1, 1) };
        Assert.Equal(DeepSlideErrorReason.NoTissue, Assert.Throws<DeepSlideException>(() => AttentionMilTrainer.Train(empty, [], 16, 2)).Reason);
    }
}
