using DeepSlide.Aggregation;

namespace DeepSlide.Core.Tests;

public class AggregatorTests
{
    private static readonly string[] Classes = ["a", "b", "c"];

    private static PatchProbabilities Patches(params float[][] rows) => new(Classes, rows.SelectMany(r => r).ToArray());

    [Fact]
    public void Majority_counts_predicted_classes()
    {
        SlideCall call = new MajorityVoteAggregator().Aggregate(Patches([0.6f, 0.3f, 0.1f], [0.2f, 0.7f, 0.1f], [0.1f, 0.8f, 0.1f]));
        Assert.Equal("b", call.Label);
        Assert.Equal([1 / 3.0, 2 / 3.0, 0], call.Scores);
    }

    [Fact]
    public void A_majority_tie_goes_to_the_higher_mean_probability()
    {
        // One patch each for a and b; b's mean probability is higher.
        SlideCall call = new MajorityVoteAggregator().Aggregate(Patches([0.5f, 0.4f, 0.1f], [0.1f, 0.9f, 0.0f]));
        Assert.Equal("b", call.Label);
    }

    [Fact]
    public void A_complete_tie_goes_to_the_lower_class_index()
    {
        SlideCall call = new MajorityVoteAggregator().Aggregate(Patches([0.6f, 0.4f, 0f], [0.4f, 0.6f, 0f]));
        Assert.Equal("a", call.Label);
        Assert.Equal("a", new MeanProbabilityAggregator().Aggregate(Patches([0.6f, 0.4f, 0f], [0.4f, 0.6f, 0f])).Label);
    }

    [Fact]
    public void Mean_probability_can_disagree_with_the_majority()
    {
        // Two patches lean weakly to a, one leans hard to c: mean (0.37, 0.17, 0.47) calls c.
        PatchProbabilities p = Patches([0.4f, 0.35f, 0.25f], [0.45f, 0.15f, 0.4f], [0.25f, 0f, 0.75f]);
        Assert.Equal("a", new MajorityVoteAggregator().Aggregate(p).Label);
        Assert.Equal("c", new MeanProbabilityAggregator().Aggregate(p).Label);
    }

    [Fact]
    public void Empty_input_calls_no_label_and_says_why()
    {
        var empty = new PatchProbabilities(Classes, []);
        foreach (ISlideAggregator aggregator in new ISlideAggregator[] { new MajorityVoteAggregator(), new MeanProbabilityAggregator(), new ThresholdAggregator([0.5, 0.5, 0.5]) })
        {
            SlideCall call = aggregator.Aggregate(empty);
            Assert.Null(call.Label);
            Assert.Equal("no tissue patches", call.Note);
            Assert.Equal([0.0, 0, 0], call.Scores);
        }
    }

    [Fact]
    public void Thresholding_counts_a_patch_only_when_its_confidence_is_strictly_above_the_threshold()
    {
        var aggregator = new ThresholdAggregator([0.8, 0.6, 0.5]);
        // a at exactly 0.8 does not count; b at 0.61 does.
        SlideCall call = aggregator.Aggregate(Patches([0.8f, 0.2f, 0f], [0.8f, 0.2f, 0f], [0.39f, 0.61f, 0f]));
        Assert.Equal("b", call.Label);
        Assert.Equal([0.0, 1 / 3.0, 0], call.Scores);
    }

    [Fact]
    public void Thresholding_with_nothing_counted_and_no_normal_class_calls_nothing()
    {
        SlideCall call = new ThresholdAggregator([0.9, 0.9, 0.9]).Aggregate(Patches([0.5f, 0.5f, 0f]));
        Assert.Null(call.Label);
        Assert.Contains("no patch is above", call.Note);
    }

    [Fact]
    public void With_a_tuned_minimum_share_a_slide_is_normal_unless_another_class_reaches_it()
    {
        // b is normal; c counts on 1 of 4 patches (25%).
        PatchProbabilities p = Patches([0f, 0.9f, 0.1f], [0f, 0.9f, 0.1f], [0f, 0.9f, 0.1f], [0f, 0.1f, 0.9f]);
        Assert.Equal("b", new ThresholdAggregator([0.5, 0.5, 0.5], normalClass: 1, minShare: 0.3).Aggregate(p).Label);
        Assert.Equal("c", new ThresholdAggregator([0.5, 0.5, 0.5], normalClass: 1, minShare: 0.25).Aggregate(p).Label);
        // Untuned (share 0): plain largest share.
        Assert.Equal("b", new ThresholdAggregator([0.5, 0.5, 0.5], normalClass: 1).Aggregate(p).Label);
    }
}
