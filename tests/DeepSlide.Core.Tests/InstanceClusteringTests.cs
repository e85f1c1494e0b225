using DeepSlide.Learning;

namespace DeepSlide.Core.Tests;

public class InstanceClusteringTests
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static double Softplus(double x) => Math.Log(1 + Math.Exp(x));

    /// <summary>
    /// CLAM's loss written out by hand on 4 patches (one from each end): the most attended patch is class 0's positive and
    /// class 1's negative, the least attended class 0's negative, and the two in between take no part. Binary
    /// cross-entropy of logit z against target t is softplus(-z) for t = 1 and softplus(z) for t = 0.
    /// </summary>
    [Fact]
    public void The_most_and_least_attended_patches_get_the_class_targets_and_the_loss_is_CLAMs_on_known_numbers()
    {
        var instances = new InstanceClustering(classes: 2, embedding: 1, weight: 1, mostPerBag: 8, seed: 0);
        Assert.Equal(1, instances.PerBag(4));
        double[] weightAndBias = [1, 0, 2, -1]; // class 0: z = e; class 1: z = 2e - 1
        weightAndBias.CopyTo(instances.Parameters, 0);
        double[] embeddings = [0.3, 1.0, -0.5, 0.2];
        double[] scores = [0.5, 2, -1, 0]; // patch 1 most attended, patch 2 least

        double loss = instances.LossAndGradient(embeddings, scores, 4, label: 0, bagWeight: 1, out double[] dEmbeddings);

        // Weight 1 x bag weight 1 / 2 classes; class 0 averages over its 2 patches, class 1 over its 1.
        double expected = 0.5 * ((Softplus(-1.0) + Softplus(-0.5)) / 2 + Softplus(2 * 1.0 - 1));
        Assert.Equal(expected, loss, 12);
        Assert.Equal(0, dEmbeddings[0]);
        Assert.Equal(0, dEmbeddings[3]);
        Assert.Equal(0.25 * (Sigmoid(1.0) - 1) * 1 + 0.5 * Sigmoid(1.0) * 2, dEmbeddings[1], 12);
        Assert.Equal(0.25 * Sigmoid(-0.5) * 1, dEmbeddings[2], 12);
        double[] expectedGradient = [0.25 * ((Sigmoid(1.0) - 1) * 1.0 + Sigmoid(-0.5) * -0.5), 0.25 * (Sigmoid(1.0) - 1 + Sigmoid(-0.5)), 0.5 * Sigmoid(1.0) * 1.0, 0.5 * Sigmoid(1.0)];
        for (int i = 0; i < expectedGradient.Length; i++)
        {
            Assert.Equal(expectedGradient[i], instances.Gradient[i], 12);
        }
    }

    [Fact]
    public void A_bag_too_small_to_take_from_both_ends_adds_nothing()
    {
        var instances = new InstanceClustering(classes: 3, embedding: 2, weight: 1, mostPerBag: 8, seed: 0);
        double loss = instances.LossAndGradient([0.1, 0.2], [1.0], 1, label: 2, bagWeight: 1, out double[] dEmbeddings);
        Assert.Equal(0, loss);
        Assert.All(dEmbeddings, d => Assert.Equal(0, d));
        Assert.All(instances.Gradient, g => Assert.Equal(0, g));
    }

    [Theory]
    [InlineData(10, 1)]
    [InlineData(40, 2)]
    [InlineData(100, 5)]
    [InlineData(5000, 8)]
    public void A_twentieth_of_the_bag_is_taken_from_each_end_from_1_to_the_most(int n, int expected) =>
        Assert.Equal(expected, new InstanceClustering(2, 4, 1, mostPerBag: 8, seed: 0).PerBag(n));
}
