using DeepSlide.Inference.Quantization;
using DeepSlide.Learning;

namespace DeepSlide.Inference.Tests;

public class HeadRefitTests
{
    private const int Features = 8, Classes = 3;

    [Fact]
    public void Features_the_int8_backbone_gives_unchanged_keep_the_FP32_head()
    {
        SoftmaxModel head = Head(seed: 1);
        float[] features = RandomFeatures(200, seed: 2);

        SoftmaxModel refit = HeadRefit.Fit(head, features, features);

        AssertClose(head.Weights, refit.Weights, 1e-4f);
        AssertClose(head.Bias, refit.Bias, 1e-4f);
    }

    [Fact]
    public void A_systematic_shift_and_scale_of_the_features_is_undone_on_patches_the_fit_did_not_see()
    {
        SoftmaxModel head = Head(seed: 3);
        float[] source = RandomFeatures(400, seed: 4), held = RandomFeatures(50, seed: 5);
        float[] Distort(float[] f) => [.. f.Select((v, i) => (0.8f * v) + (0.05f * (i % Features)))];

        SoftmaxModel refit = HeadRefit.Fit(head, source, Distort(source), ridge: 1e-9);

        // The exact answer is known: W' = W / 0.8, b' = b - W' · offset.
        float[] heldLogits = Logits(head, held), before = Logits(head, Distort(held)), after = Logits(refit, Distort(held));
        AssertClose(heldLogits, after, 1e-3f);
        Assert.True(MaxDifference(heldLogits, before) > 0.1f, "the distortion must move the FP32 head's logits, or the test shows nothing");
    }

    [Fact]
    public void The_ridge_pulls_the_head_towards_the_FP32_one_when_the_patches_are_few()
    {
        SoftmaxModel head = Head(seed: 6);
        float[] source = RandomFeatures(5, seed: 7);
        float[] noisy = [.. source.Select((v, i) => v + (((i * 7919) % 13) - 6) * 0.02f)];

        double weak = MaxDifference(head.Weights, HeadRefit.Fit(head, source, noisy, ridge: 1e-6).Weights);
        double strong = MaxDifference(head.Weights, HeadRefit.Fit(head, source, noisy, ridge: 10).Weights);

        Assert.True(strong < weak / 10, $"a strong ridge moved the weights by {strong}, a weak one by {weak}");
    }

    [Fact]
    public void Feature_sets_of_different_sizes_are_refused()
    {
        SoftmaxModel head = Head(seed: 8);
        Assert.Throws<ArgumentException>(() => HeadRefit.Fit(head, RandomFeatures(4, seed: 9), RandomFeatures(3, seed: 9)));
    }

    private static SoftmaxModel Head(int seed)
    {
        var random = new Random(seed);
        return new SoftmaxModel(Classes, Features, [.. Enumerable.Range(0, Classes * Features).Select(_ => (float)random.NextDouble() - 0.5f)], [0.1f, -0.2f, 0.3f]);
    }

    private static float[] RandomFeatures(int rows, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, rows * Features).Select(_ => (float)random.NextDouble() * 2)];
    }

    private static float[] Logits(SoftmaxModel head, float[] features)
    {
        var logits = new float[features.Length / Features * Classes];
        for (int i = 0; i < features.Length / Features; i++)
        {
            head.Logits(features.AsSpan(i * Features, Features), logits.AsSpan(i * Classes, Classes));
        }

        return logits;
    }

    private static float MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    private static void AssertClose(float[] expected, float[] actual, float tolerance) =>
        Assert.True(MaxDifference(expected, actual) <= tolerance, $"largest difference {MaxDifference(expected, actual)} over {tolerance}");
}
