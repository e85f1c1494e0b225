using DeepSlide.Tiling;

namespace DeepSlide.Core.Tests;

public class TileGridTests
{
    [Fact]
    public void Offsets_cover_the_right_edge_with_one_overhanging_window()
    {
        // 1000 = 4 * 224 + 104: DeepSlide's grid stops at 672 and misses the last 104 pixels.
        Assert.Equal([0L, 224, 448, 672, 896], TileGrid.Offsets(1000, 224, 224));
    }

    [Fact]
    public void Offsets_add_no_extra_window_when_the_grid_ends_exactly_at_the_edge()
    {
        Assert.Equal([0L, 224, 448, 672], TileGrid.Offsets(896, 224, 224));
        Assert.Equal([0L], TileGrid.Offsets(224, 224, 224));
    }

    [Fact]
    public void Offsets_with_overlap_step_by_the_stride_and_still_reach_the_edge()
    {
        Assert.Equal([0L, 112, 224, 336, 448, 560], TileGrid.Offsets(700, 224, 112));
    }

    [Fact]
    public void Offsets_are_empty_when_the_extent_is_shorter_than_a_window()
    {
        Assert.Empty(TileGrid.Offsets(223, 224, 224));
    }

    [Theory]
    [InlineData(1.0, 224)]
    [InlineData(2.0, 112)]
    [InlineData(3.0, 74)]
    [InlineData(1.5, 149)]
    public void Overlap_factor_gives_DeepSlides_stride(double overlap, int stride)
    {
        Assert.Equal(stride, TileGrid.StrideFromOverlap(224, overlap));
    }

    [Fact]
    public void An_overlap_factor_below_one_is_refused()
    {
        var ex = Assert.Throws<DeepSlideException>(() => TileGrid.StrideFromOverlap(224, 0.5));
        Assert.Equal(DeepSlideErrorReason.InvalidArgument, ex.Reason);
        Assert.Contains("at least 1", ex.Message);
    }
}
