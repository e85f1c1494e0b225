using DeepSlide.Slides;

namespace DeepSlide.Core.Tests;

public class ResolutionTests
{
    private static readonly SlideInfo Slide = new FunctionSlideReader(40_000, 30_000, [1, 4, 16], mpp: 0.25, power: 40).Info;

    [Fact]
    public void Mpp_on_a_pyramid_level_reads_that_level_without_rescaling()
    {
        ResolvedResolution r = Resolution.AtMpp(1.0).Resolve(Slide);
        Assert.Equal(1, r.Level.Index);
        Assert.Equal(4, r.Downsample);
        Assert.False(r.NeedsRescale);
    }

    [Fact]
    public void Mpp_between_levels_reads_the_finer_level_and_rescales()
    {
        ResolvedResolution r = Resolution.AtMpp(0.5).Resolve(Slide);
        Assert.Equal(0, r.Level.Index);
        Assert.Equal(2, r.Downsample);
        Assert.Equal(2, r.LevelScale);
    }

    [Fact]
    public void Magnification_is_relative_to_the_objective_power()
    {
        ResolvedResolution r = Resolution.AtMagnification(10).Resolve(Slide);
        Assert.Equal(1, r.Level.Index);
        Assert.Equal(4, r.Downsample);
        Assert.Equal(2, Resolution.AtMagnification(20).Resolve(Slide).Downsample);
    }

    [Fact]
    public void A_resolution_within_two_percent_of_a_level_snaps_to_it()
    {
        ResolvedResolution r = Resolution.AtMpp(0.2525).Resolve(Slide);
        Assert.Equal(0, r.Level.Index);
        Assert.False(r.NeedsRescale);
    }

    [Fact]
    public void A_resolution_finer_than_level_0_cannot_be_provided()
    {
        var ex = Assert.Throws<DeepSlideException>(() => Resolution.AtMpp(0.1).Resolve(Slide));
        Assert.Equal(DeepSlideErrorReason.ResolutionUnavailable, ex.Reason);
        Assert.Contains("/slides/function.tif", ex.Message);
        Assert.Contains("finer than the slide's level 0 (0.25 mpp)", ex.Message);
        Assert.Throws<DeepSlideException>(() => Resolution.AtMagnification(80).Resolve(Slide));
    }

    [Fact]
    public void Mpp_and_magnification_need_the_slide_to_record_them()
    {
        SlideInfo bare = new FunctionSlideReader(1000, 1000).Info;
        Assert.Equal(DeepSlideErrorReason.ResolutionUnavailable, Assert.Throws<DeepSlideException>(() => Resolution.AtMpp(0.5).Resolve(bare)).Reason);
        var ex = Assert.Throws<DeepSlideException>(() => Resolution.AtMagnification(20).Resolve(bare));
        Assert.Contains("no objective power", ex.Message);
    }

    [Fact]
    public void A_missing_level_is_named()
    {
        var ex = Assert.Throws<DeepSlideException>(() => Resolution.AtLevel(3).Resolve(Slide));
        Assert.Equal(DeepSlideErrorReason.LevelUnavailable, ex.Reason);
        Assert.Contains("levels 0 to 2", ex.Message);
    }
}
