using DeepSlide.Aggregation;

namespace DeepSlide.Core.Tests;

public class TuningTests
{
    private static readonly string[] Classes = ["benign", "tumour"];

    /// <summary>A slide of <paramref name="n"/> patches, <paramref name="tumour"/> of them tumour at the given confidence.</summary>
    private static PatchProbabilities Slide(int n, int tumour, float tumourConfidence = 0.9f, float benignConfidence = 0.9f)
    {
        var values = new List<float>();
        for (int i = 0; i < n; i++)
        {
            values.AddRange(i < tumour ? [1 - tumourConfidence, tumourConfidence] : [benignConfidence, 1 - benignConfidence]);
        }

        return new PatchProbabilities(Classes, [.. values]);
    }

    [Fact]
    public void Balanced_accuracy_is_the_mean_recall_over_present_classes()
    {
        Assert.Equal(0.75, SlideMetrics.BalancedAccuracy([0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, null]));
        Assert.Equal(1.0, SlideMetrics.BalancedAccuracy([1, 1], [1, 1]));
    }

    [Fact]
    public void Ties_take_the_centre_of_the_best_plateau()
    {
        // Every threshold below 0.9 (0.00 to 0.85 on the grid) separates these slides perfectly: the centre is taken,
        // not 0, which would make thresholding the same as majority.
        LabelledSlidePatches[] slides = [new("b", Slide(10, 0), 0), new("t", Slide(10, 9), 1)];
        ThresholdTuning tuning = ThresholdTuner.Tune(slides);
        Assert.Equal(new Plateau(0, 0.85, 0.4, 1.0), tuning.SharedPlateau! with { High = Math.Round(tuning.SharedPlateau!.High, 9), Chosen = Math.Round(tuning.SharedPlateau.Chosen, 9) });
        Assert.Equal(0.4, tuning.SharedThreshold, 9);
        Assert.Equal(1.0, tuning.BalancedAccuracy);
    }

    [Fact]
    public void The_widest_plateau_wins_over_a_narrower_one_of_the_same_score()
    {
        double[] grid = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        double[] scores = [1, 0.5, 1, 1, 1, 0.5, 1];
        Plateau p = ThresholdTuner.Best(grid, t => scores[Array.IndexOf(grid, t)]);
        Assert.Equal(new Plateau(0.2, 0.4, 0.3, 1), p);
    }

    [Fact]
    public void A_per_class_threshold_removes_confident_looking_noise()
    {
        // Benign slides carry many tumour patches of middling confidence (0.6); real tumour patches are at 0.95.
        LabelledSlidePatches[] slides =
        [
            new("b1", Slide(10, 7, tumourConfidence: 0.6f), 0),
            new("b2", Slide(10, 6, tumourConfidence: 0.6f), 0),
            new("t1", Slide(10, 8, tumourConfidence: 0.95f), 1),
        ];
        ThresholdTuning tuning = ThresholdTuner.Tune(slides);
        Assert.Equal(1.0, tuning.BalancedAccuracy);
        // Tumour patches only count above 0.6 (strictly): 0.60 to 0.90 work, and the centre is 0.75.
        Assert.Equal(0.75, tuning.Thresholds[1], 9);
        Assert.True(tuning.SharedBalancedAccuracy <= tuning.BalancedAccuracy);
    }

    [Fact]
    public void A_minimum_share_calls_mostly_benign_slides_with_some_tumour_tumour()
    {
        // Tumour slides hold only 20-30% tumour patches; benign slides up to 5% (noise).
        LabelledSlidePatches[] slides =
        [
            new("b1", Slide(20, 1), 0),
            new("b2", Slide(20, 0), 0),
            new("t1", Slide(20, 4), 1),
            new("t2", Slide(20, 6), 1),
        ];
        Assert.Equal(0.5, ThresholdTuner.Tune(slides).BalancedAccuracy);
        ThresholdTuning tuning = ThresholdTuner.Tune(slides, normalClass: 0);
        Assert.Equal(1.0, tuning.BalancedAccuracy);
        // Shares above 0.05 up to 0.20 separate them (benign slides reach 0.05, tumour ones 0.20): 0.06 to 0.2 on
        // the share grid, whose centre is 0.10.
        Assert.Equal(0.10, tuning.MinShare, 9);
    }

    [Fact]
    public void A_focus_of_two_patches_in_42_is_not_voted_away_by_the_minimum_share()
    {
        // Two tumour patches of 42 are a share of 0.048; a benign slide's one false positive in 80 is 0.0125.
        LabelledSlidePatches[] slides =
        [
            new("b1", Slide(42, 0), 0),
            new("b2", Slide(80, 1), 0),
            new("t1", Slide(42, 2), 1),
            new("t2", Slide(40, 3), 1),
        ];
        Plateau share = ThresholdTuner.TuneMinShare(slides, s => new MajorityVoteAggregator(0, s));
        Assert.Equal((1.0, 0.015, 0.045, 0.03), (share.Score, share.Low, share.High, share.Chosen));
        var majority = new MajorityVoteAggregator(0, share.Chosen);
        Assert.Equal(["benign", "benign", "tumour", "tumour"], slides.Select(s => majority.Aggregate(s.Patches).Label));
        Assert.Equal("tumour", majority.Aggregate(Slide(60, 2)).Label);
    }

    /// <summary>
    /// A 10 x 10 slide, benign but for tumour patches (at 0.9) at <paramref name="tumour"/>'s grid places.
    /// </summary>
    private static PatchProbabilities Grid(params (int Column, int Row)[] tumour)
    {
        var values = new List<float>();
        var grid = new List<(int, int)>();
        for (int row = 0; row < 10; row++)
        {
            for (int column = 0; column < 10; column++)
            {
                values.AddRange(tumour.Contains((column, row)) ? [0.1f, 0.9f] : [0.9f, 0.1f]);
                grid.Add((column, row));
            }
        }

        return new PatchProbabilities(Classes, [.. values]) { Grid = [.. grid] };
    }

    [Fact]
    public void The_largest_cluster_joins_patches_that_touch_at_an_edge_or_a_corner()
    {
        PatchProbabilities slide = Grid((0, 0), (1, 1), (2, 2), (5, 5), (5, 6), (9, 0));
        Assert.Equal(3, slide.LargestCluster(i => slide.Prediction(i).Class == 1));
        var placeless = new PatchProbabilities(Classes, slide.Values);
        Assert.Equal(6, placeless.LargestCluster(i => placeless.Prediction(i).Class == 1));
    }

    [Fact]
    public void The_largest_focus_is_placed_by_the_grid_cells_it_spans()
    {
        PatchProbabilities slide = Grid((9, 0), (4, 6), (5, 5), (6, 5), (5, 7), (1, 1), (2, 2));
        Assert.Equal(new FocusArea(4, 4, 5, 3, 3), slide.LargestFocus(i => slide.Prediction(i).Class == 1));
        Assert.Null(slide.LargestFocus(i => false));
        Assert.Null(new PatchProbabilities(Classes, slide.Values).LargestFocus(i => slide.Prediction(i).Class == 1));
    }

    [Fact]
    public void A_small_focus_is_called_tumour_where_scattered_noise_with_a_larger_share_is_not()
    {
        // Benign slides: 6 isolated false positives (6%). Tumour slides: one focus of 4 touching patches (4%).
        (int, int)[] scattered = [(0, 0), (3, 0), (6, 0), (0, 4), (4, 5), (8, 8)];
        LabelledSlidePatches[] slides =
        [
            new("b1", Grid(scattered), 0),
            new("b2", Grid([.. scattered.Take(5)]), 0),
            new("t1", Grid((2, 2), (2, 3), (3, 2), (3, 3)), 1),
            new("t2", Grid((7, 1), (8, 1), (7, 2), (8, 2), (9, 3)), 1),
        ];
        ThresholdTuning tuning = ThresholdTuner.Tune(slides, normalClass: 0);
        Assert.Equal(0.5, tuning.ShareRuleBalancedAccuracy);
        Assert.Equal(1.0, tuning.FocusRuleBalancedAccuracy);
        Assert.Equal(1.0, tuning.BalancedAccuracy);

        // Foci of 2 to 4 patches separate them; the centre, 3, is taken.
        Assert.Equal(3, tuning.MinFocus);
        var threshold = new ThresholdAggregator(tuning.Thresholds, 0, tuning.MinShare, tuning.MinFocus);
        SlideCall call = threshold.Aggregate(slides[2].Patches);
        Assert.Equal(("tumour", "a focus of 4 tumour patches"), (call.Label, call.Note));
        Assert.Equal(new FocusArea(4, 2, 2, 2, 2) { Class = "tumour" }, call.Focus);

        // A normal call points at the largest focus that fell short, for whoever checks it.
        SlideCall normal = threshold.Aggregate(slides[0].Patches);
        Assert.Equal(("benign", "no focus of 3 patches of another class (largest 1)"), (normal.Label, normal.Note));
        Assert.Equal(new FocusArea(1, 0, 0, 1, 1) { Class = "tumour" }, normal.Focus);
        var one = new ThresholdAggregator(tuning.Thresholds, 0, minFocus: 1);
        Assert.Equal("a focus of 1 tumour patch", one.Aggregate(slides[0].Patches).Note);
        Assert.Equal("no focus of 1 patch of another class (largest 0)", one.Aggregate(Grid()).Note);
        Assert.All(new ISlideAggregator[] { new MajorityVoteAggregator(0, 0.05), new MeanProbabilityAggregator(0, 0.05) }, a => Assert.Null(a.Aggregate(slides[2].Patches).Focus));
    }

    [Fact]
    public void Tuning_needs_validation_slides_of_every_class()
    {
        var ex = Assert.Throws<DeepSlideException>(() => ThresholdTuner.Tune([new("b", Slide(5, 0), 0)]));
        Assert.Contains("there are none of tumour", ex.Message);
    }

    [Fact]
    public void The_learned_aggregator_says_when_there_are_too_few_slides()
    {
        (LearnedAggregator? aggregator, string? reason) = LearnedAggregator.Train([new("b", Slide(5, 0), 0), new("t", Slide(5, 5), 1)]);
        Assert.Null(aggregator);
        Assert.Equal("the learned aggregator needs at least 3 validation slides per class; 'benign' has 1.", reason);
    }

    [Fact]
    public void The_learned_aggregator_learns_a_share_boundary_majority_vote_misses()
    {
        var slides = new List<LabelledSlidePatches>();
        for (int i = 0; i < 6; i++)
        {
            slides.Add(new($"b{i}", Slide(20, i % 2), 0));
            slides.Add(new($"t{i}", Slide(20, 5 + i % 3), 1));
        }

        (LearnedAggregator? learned, string? reason) = LearnedAggregator.Train(slides);
        Assert.Null(reason);
        int[] truths = slides.Select(s => s.Truth).ToArray();
        int?[] Calls(ISlideAggregator a) => slides.Select(s => (int?)Array.IndexOf(Classes, a.Aggregate(s.Patches).Label)).ToArray();
        Assert.Equal(0.5, SlideMetrics.BalancedAccuracy(truths, Calls(new MajorityVoteAggregator())));
        Assert.Equal(1.0, SlideMetrics.BalancedAccuracy(truths, Calls(learned!)));

        LearnedAggregator restored = LearnedAggregator.FromSpec(learned!.ToSpec(), 2);
        Assert.Equal(Calls(learned), Calls(restored));
        Assert.Null(learned.Aggregate(new PatchProbabilities(Classes, [])).Label);
    }

    [Fact]
    public void Slide_features_are_shares_means_confident_shares_confidence_spread_and_focus_evidence()
    {
        float[] f = LearnedAggregator.Features(new PatchProbabilities(Classes, [0.95f, 0.05f, 0.2f, 0.8f]));
        Assert.Equal(12, f.Length);
        Assert.Equal([0.5f, 0.5f], f[..2]);
        Assert.Equal(0.575f, f[2], 5);
        Assert.Equal(0.425f, f[3], 5);
        Assert.Equal([0.5f, 0f], f[4..6]);
        Assert.Equal(0.875f, f[6], 5);
        Assert.Equal(0.075f, f[7], 4);

        // Confident patches per class and their largest cluster, log(1 + n) / log(101): one confident benign patch.
        Assert.Equal([(float)(Math.Log(2) / Math.Log(101)), 0f], f[8..10]);
        Assert.Equal([(float)(Math.Log(2) / Math.Log(101)), 0f], f[10..12]);

        // On a grid, the cluster is the largest connected one, the count all of them.
        PatchProbabilities placed = Grid((0, 0), (1, 1), (5, 5));
        float[] g = LearnedAggregator.Features(new PatchProbabilities(Classes, [.. placed.Values.Select(v => v == 0.9f ? 0.95f : 0.05f)]) { Grid = placed.Grid });
        Assert.Equal((float)(Math.Log(4) / Math.Log(101)), g[9], 6);
        Assert.Equal((float)(Math.Log(3) / Math.Log(101)), g[11], 6);
    }
}
