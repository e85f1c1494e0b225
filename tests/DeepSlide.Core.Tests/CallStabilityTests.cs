using DeepSlide.Aggregation;

namespace DeepSlide.Core.Tests;

public class CallStabilityTests
{
    private static readonly string[] Classes = ["benign", "tumour"];

    private static PatchProbabilities Slide(params float[] tumour) =>
        new(Classes, [.. tumour.SelectMany(t => new[] { 1 - t, t })]) { Grid = [.. tumour.Select((_, i) => (i, 0))] };

    private static IReadOnlyList<string> Unsure(PatchProbabilities patches, double margin, params ISlideAggregator[] aggregators) =>
        CallStability.Unsure(patches, aggregators, [.. aggregators.Select(a => a.Aggregate(patches))], margin);

    [Fact]
    public void A_focus_of_one_patch_just_over_its_threshold_is_unsure_at_a_margin_that_reaches_the_threshold_and_sure_below_it()
    {
        // One tumour patch at 0.56 against a threshold of 0.5, least focus 1: the call is tumour, 0.06 from benign.
        var threshold = new ThresholdAggregator([0.5, 0.5], normalClass: 0, minFocus: 1);
        PatchProbabilities slide = Slide(0.1f, 0.56f, 0.2f, 0.05f);
        Assert.Equal("tumour", threshold.Aggregate(slide).Label);

        Assert.Equal(["threshold"], Unsure(slide, 0.1, threshold));
        Assert.Empty(Unsure(slide, 0.05, threshold));
    }

    [Fact]
    public void A_benign_call_whose_mean_is_near_the_least_share_is_unsure_both_ways_of_the_push_are_tried()
    {
        // Mean tumour probability 0.27 against a least share of 0.30: benign, and a push of 0.03 up makes it tumour.
        var mean = new MeanProbabilityAggregator(normalClass: 0, minShare: 0.30);
        PatchProbabilities slide = Slide(0.2f, 0.3f, 0.25f, 0.33f);
        Assert.Equal("benign", mean.Aggregate(slide).Label);
        Assert.Equal(["mean"], Unsure(slide, 0.04, mean));
        Assert.Empty(Unsure(slide, 0.02, mean));

        // A tumour call 0.03 above the share moves only when tumour is pushed down.
        PatchProbabilities tumour = Slide(0.3f, 0.35f, 0.3f, 0.37f);
        Assert.Equal("tumour", mean.Aggregate(tumour).Label);
        Assert.Equal(["mean"], Unsure(tumour, 0.04, mean));
    }

    [Fact]
    public void Each_unsure_aggregator_is_named_once_and_a_sure_one_not_at_all()
    {
        var majority = new MajorityVoteAggregator();
        var threshold = new ThresholdAggregator([0.5, 0.5], normalClass: 0, minFocus: 1);
        // Every patch is far from 0.5, so the majority holds; one patch at 0.52 moves the focus rule.
        PatchProbabilities slide = Slide(0.05f, 0.1f, 0.52f, 0.02f);
        Assert.Equal(["threshold"], Unsure(slide, 0.1, majority, threshold));
        Assert.Empty(Unsure(slide, 0, majority, threshold));
    }

    [Fact]
    public void A_push_keeps_each_patch_a_distribution_over_three_classes()
    {
        // The pushed class is clamped to [0, 1] and the others share what is left in their proportions: a recording
        // aggregator sees what the push made.
        var seen = new List<float[]>();
        var recorder = new Recorder(p => seen.Add([.. p.Values]));
        var patches = new PatchProbabilities(["a", "b", "c"], [0.6f, 0.3f, 0.1f, 0.95f, 0.05f, 0f, 0f, 0f, 1f]);
        CallStability.Unsure(patches, [recorder], [recorder.Aggregate(patches)], 0.1);

        Assert.Equal(7, seen.Count); // the call itself, then each of 3 classes pushed up and down
        float[] aUp = seen[1];
        Assert.Equal([0.7f, 0.225f, 0.075f, 1f, 0f, 0f, 0.1f, 0f, 0.9f], aUp, new ToleranceComparer(1e-6f));
        foreach (float[] values in seen)
        {
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(1f, values[(i * 3)..((i * 3) + 3)].Sum(), 5);
                Assert.All(values, v => Assert.InRange(v, 0f, 1f));
            }
        }
    }

    private sealed class Recorder(Action<PatchProbabilities> seen) : ISlideAggregator
    {
        public string Name => "recorder";

        public SlideCall Aggregate(PatchProbabilities patches)
        {
            seen(patches);
            return new SlideCall(Name, "a", [1, 0, 0]);
        }
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}
