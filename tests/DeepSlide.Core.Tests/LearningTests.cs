using DeepSlide.Learning;

namespace DeepSlide.Core.Tests;

public class LearningTests
{
    // Three Gaussian clusters in 4-D with very different scales per feature, so standardisation matters.
    private static (float[] X, int[] Y) Clusters(int perClass, int seed, int[]? counts = null)
    {
        var random = new Random(seed);
        double[][] centres = [[0, 0, 100, 0.01], [3, 0, 110, 0.02], [0, 3, 90, 0.03]];
        var x = new List<float>();
        var y = new List<int>();
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < (counts?[c] ?? perClass); i++)
            {
                x.Add((float)(centres[c][0] + random.NextDouble() - 0.5));
                x.Add((float)(centres[c][1] + random.NextDouble() - 0.5));
                x.Add((float)(centres[c][2] + (random.NextDouble() - 0.5) * 5));
                x.Add((float)(centres[c][3] + (random.NextDouble() - 0.5) * 0.005));
                y.Add(c);
            }
        }

        return ([.. x], [.. y]);
    }

    private static double Accuracy(SoftmaxModel model, float[] x, int[] y)
    {
        var p = new float[model.Classes];
        int correct = 0;
        for (int i = 0; i < y.Length; i++)
        {
            model.Predict(x.AsSpan(i * model.Features, model.Features), p);
            correct += Array.IndexOf(p, p.Max()) == y[i] ? 1 : 0;
        }

        return correct / (double)y.Length;
    }

    [Fact]
    public void Softmax_regression_separates_clusters_and_takes_raw_features_after_folding()
    {
        (float[] x, int[] y) = Clusters(60, 1);
        (float[] vx, int[] vy) = Clusters(30, 2);
        (SoftmaxModel model, IReadOnlyList<EpochLog> log) = SoftmaxRegression.Train(x, y, 4, 3, vx, vy, new SoftmaxTrainingOptions { Seed = 3 });
        Assert.True(Accuracy(model, vx, vy) > 0.97);
        Assert.NotEmpty(log);
        Assert.All(log, e => Assert.NotNull(e.ValLoss));
        Assert.True(log[^1].Epoch <= 100);
    }

    [Fact]
    public void Training_is_deterministic_for_a_seed()
    {
        (float[] x, int[] y) = Clusters(40, 5);
        SoftmaxModel a = SoftmaxRegression.Train(x, y, 4, 3, null, null, new SoftmaxTrainingOptions { Seed = 7, MaxEpochs = 20 }).Model;
        SoftmaxModel b = SoftmaxRegression.Train(x, y, 4, 3, null, null, new SoftmaxTrainingOptions { Seed = 7, MaxEpochs = 20 }).Model;
        Assert.Equal(a.Weights, b.Weights);
        Assert.Equal(a.Bias, b.Bias);
    }

    [Fact]
    public void Class_weights_lift_recall_of_a_rare_overlapping_class()
    {
        // Class 2 is rare and overlaps class 0: unweighted training sacrifices it.
        var random = new Random(11);
        var x = new List<float>();
        var y = new List<int>();
        void Add(int label, double centre, int n)
        {
            for (int i = 0; i < n; i++)
            {
                x.Add((float)(centre + random.NextDouble() * 2 - 1));
                y.Add(label);
            }
        }

        Add(0, 0, 400);
        Add(1, 5, 400);
        Add(2, 0.8, 20);
        float[] fx = [.. x];
        int[] fy = [.. y];
        double Recall(SoftmaxModel m)
        {
            var p = new float[3];
            int hit = 0, total = 0;
            for (int i = 0; i < fy.Length; i++)
            {
                if (fy[i] != 2)
                {
                    continue;
                }

                m.Predict(fx.AsSpan(i, 1), p);
                total++;
                hit += Array.IndexOf(p, p.Max()) == 2 ? 1 : 0;
            }

            return hit / (double)total;
        }

        var plain = SoftmaxRegression.Train(fx, fy, 1, 3, null, null, new SoftmaxTrainingOptions { BalanceClasses = false, MaxEpochs = 60 }).Model;
        var weighted = SoftmaxRegression.Train(fx, fy, 1, 3, null, null, new SoftmaxTrainingOptions { BalanceClasses = true, MaxEpochs = 60 }).Model;
        Assert.True(Recall(weighted) > Recall(plain) + 0.2, $"weighted {Recall(weighted)} vs plain {Recall(plain)}");
    }

    [Fact]
    public void A_class_without_examples_is_refused()
    {
        Assert.Throws<DeepSlideException>(() => SoftmaxRegression.Train([0f, 1f], [0, 0], 1, 2, null, null));
    }

    [Fact]
    public void Dihedral_symmetries_compose_like_the_square_group()
    {
        const int N = 6;
        var original = new byte[N * N * 3];
        new Random(2).NextBytes(original);
        byte[] Apply(byte[] src, int k)
        {
            var dst = new byte[src.Length];
            Augmentation.Dihedral(src, dst, N, k);
            return dst;
        }

        Assert.Equal(original, Apply(original, 0));
        Assert.Equal(original, Apply(Apply(Apply(Apply(original, 1), 1), 1), 1));
        Assert.Equal(original, Apply(Apply(original, 4), 4));
        Assert.Equal(Apply(original, 2), Apply(Apply(original, 1), 1));
        Assert.NotEqual(original, Apply(original, 1));
        // A quarter turn moves the top-left pixel to a corner and keeps every pixel.
        Assert.Equal(original.Order(), Apply(original, 3).Order());
    }

    [Fact]
    public void Colour_jitter_changes_colours_but_not_their_count_and_is_seeded()
    {
        var a = Enumerable.Range(0, 300).Select(i => (byte)(i % 256)).ToArray();
        var b = (byte[])a.Clone();
        Augmentation.ColorJitter(a, new Random(1));
        Augmentation.ColorJitter(b, new Random(1));
        Assert.Equal(a, b);
        Assert.NotEqual(Enumerable.Range(0, 300).Select(i => (byte)(i % 256)), a);
    }
}
