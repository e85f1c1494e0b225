using DeepSlide.Training;

namespace DeepSlide.Inference.Tests;

public class RefinementCutOffTests
{
    [Fact]
    public void The_cut_offs_keep_the_tumour_and_the_normal_tissue_and_stay_within_the_error_rate()
    {
        // Normal tissue scores 0..99. A tumour slide: 50 normal patches drawn from the same scores, 50 tumour at 200+.
        double[] normal = [.. Enumerable.Range(0, 100).Select(i => (double)i)];
        double[] mixture = [.. Enumerable.Range(0, 50).Select(i => 2.0 * i), .. Enumerable.Range(200, 50).Select(i => (double)i)];

        (double high, double low) = WeakLabelRefiner.CutOffs(normal, mixture, errorRate: 0.05);

        // Above the high cut: all 50 tumour patches and at most 5% normal ones.
        double[] kept = mixture.Where(s => s >= high).ToArray();
        Assert.Equal(50, kept.Count(s => s >= 200));
        Assert.True(kept.Count(s => s < 200) <= 0.05 * kept.Length, $"high {high}: {kept.Count(s => s < 200)} normal of {kept.Length}");

        // Below the low cut: no tumour, and most of the normal patches.
        Assert.True(low < high);
        Assert.Equal(0, mixture.Count(s => s <= low && s >= 200));
        Assert.True(mixture.Count(s => s <= low) >= 40, $"low {low}");
    }

    [Fact]
    public void With_no_separation_nothing_is_called_tumour()
    {
        // The tumour slide scores like normal tissue: the strictest cut-off, so at most the single top patch passes.
        double[] normal = [.. Enumerable.Range(0, 100).Select(i => (double)i)];
        (double high, _) = WeakLabelRefiner.CutOffs(normal, normal, errorRate: 0.05);
        Assert.True(normal.Count(s => s >= high) <= 1, $"high {high}");
    }
}
