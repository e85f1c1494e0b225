using DeepSlide.Slides;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Core.Tests;

public class TilePlannerTests
{
    private static readonly SlideInfo Slide = new FunctionSlideReader(1000, 500).Info;

    private static TissueMask AllTissue(double downsample = 14) =>
        new((int)Math.Ceiling(1000 / downsample), (int)Math.Ceiling(500 / downsample), downsample, Enumerable.Repeat(true, (int)Math.Ceiling(1000 / downsample) * (int)Math.Ceiling(500 / downsample)).ToArray());

    [Fact]
    public void Plan_lists_every_grid_tile_in_row_major_order_with_the_edges_covered()
    {
        TilePlan plan = TilePlanner.Plan(Slide, Resolution.Baseline.Resolve(Slide), new TilingOptions { MinTissueFraction = 0 }, AllTissue());
        Assert.Equal(5, plan.Columns);
        Assert.Equal(3, plan.Rows);
        long[] xs = [0, 224, 448, 672, 896];
        long[] ys = [0, 224, 448];
        var expected = ys.SelectMany(y => xs.Select(x => (x, y))).ToList();
        Assert.Equal(expected, plan.Tiles.Select(t => (t.X, t.Y)).ToList());
        Assert.Equal(Enumerable.Range(0, 15), plan.Tiles.Select(t => t.Index));
        // The last column overhangs the 1000-pixel edge by 120 pixels, so less of it is tissue.
        Tile corner = plan.Tiles[^1];
        Assert.Equal((4, 2), (corner.Column, corner.Row));
        Assert.InRange(corner.TissueFraction, 0.1, 0.3);
        Assert.Equal(1.0f, plan.Tiles[0].TissueFraction);
    }

    [Fact]
    public void Tiles_at_a_coarser_resolution_have_level_0_coordinates()
    {
        var slide = new FunctionSlideReader(1000, 500, mpp: 0.25).Info;
        TilePlan plan = TilePlanner.Plan(slide, Resolution.AtMpp(0.5).Resolve(slide), new TilingOptions { MinTissueFraction = 0 }, AllTissue());
        Assert.Equal(2, plan.Downsample);
        Assert.Equal(448, plan.TileSizeAtLevel0);
        // 500 working pixels wide: offsets 0, 224, 448 (overhanging) -> level 0: 0, 448, 896.
        Assert.Equal([0L, 448, 896], plan.Tiles.Where(t => t.Row == 0).Select(t => t.X));
        Assert.Equal(2, plan.Rows);
    }

    [Fact]
    public void Tiles_with_too_little_tissue_are_left_out()
    {
        // Tissue only in the left 300 pixels of level 0 (mask downsample 10).
        var pixels = new bool[100 * 50];
        for (int y = 0; y < 50; y++)
        {
            for (int x = 0; x < 30; x++)
            {
                pixels[y * 100 + x] = true;
            }
        }

        var mask = new TissueMask(100, 50, 10, pixels);
        TilePlan plan = TilePlanner.Plan(Slide, Resolution.Baseline.Resolve(Slide), new TilingOptions { MinTissueFraction = 0.25 }, mask);
        // Column 0 is all tissue; column 1 (mask columns 22..44) has 8 of 23 tissue columns; column 2 none.
        // Row 2 overhangs the bottom edge (only 52 of 224 rows exist), which leaves it under the minimum.
        Assert.Equal([(0, 0), (1, 0), (0, 1), (1, 1)], plan.Tiles.Select(t => (t.Column, t.Row)));
        Assert.Equal(8f / 23, plan.Tiles[1].TissueFraction, 4);
    }

    [Fact]
    public void A_slide_without_tissue_gives_an_empty_plan()
    {
        var mask = new TissueMask(100, 50, 10, new bool[5000]);
        TilePlan plan = TilePlanner.Plan(Slide, Resolution.Baseline.Resolve(Slide), new TilingOptions(), mask);
        Assert.True(plan.IsEmpty);
        Assert.Equal(15, plan.GridTileCount);
        Assert.Empty(plan.Split(10));
    }

    [Fact]
    public void A_slide_smaller_than_one_patch_is_refused_with_its_size()
    {
        var small = new FunctionSlideReader(200, 500).Info;
        var ex = Assert.Throws<DeepSlideException>(() => TilePlanner.Plan(small, Resolution.Baseline.Resolve(small), new TilingOptions(), AllTissue()));
        Assert.Equal(DeepSlideErrorReason.SlideTooSmall, ex.Reason);
        Assert.Contains("200x500", ex.Message);
    }

    [Fact]
    public void Split_cuts_contiguous_ranges_and_the_last_one_takes_the_rest()
    {
        TilePlan plan = TilePlanner.Plan(Slide, Resolution.Baseline.Resolve(Slide), new TilingOptions { MinTissueFraction = 0 }, AllTissue());
        IReadOnlyList<TileRange> ranges = plan.Split(4);
        Assert.Equal([new TileRange(0, 0, 4), new TileRange(1, 4, 4), new TileRange(2, 8, 4), new TileRange(3, 12, 3)], ranges);
        Assert.Equal(plan.Tiles.Skip(12), plan.TilesOf(ranges[3]));
    }

    [Fact]
    public void Planning_reads_the_mask_from_a_low_resolution_level_not_level_0()
    {
        var reader = new RecordingReader(new FunctionSlideReader(20_000, 10_000, [1, 4, 16]));
        TilePlanner.Plan(reader, new TilingOptions());
        Assert.NotEmpty(reader.Levels);
        Assert.DoesNotContain(0, reader.Levels);
    }

    [Fact]
    public void Reading_a_single_level_slide_at_low_resolution_reads_bounded_strips()
    {
        var inner = new FunctionSlideReader(60_000, 2_000);
        var reader = new RecordingReader(inner);
        Imaging.RgbImage image = reader.ReadAtDownsample(40);
        Assert.Equal((1500, 50), (image.Width, image.Height));
        Assert.All(reader.Regions, r => Assert.True((long)r.Width * r.Height <= 8_000_000, $"{r.Width}x{r.Height}"));
        Assert.Equal(2000, reader.Regions.Sum(r => r.Height));
    }

    [Fact]
    public void Invalid_options_are_refused()
    {
        Assert.Throws<DeepSlideException>(() => new TilingOptions { Window = 100 }.Validate());
        Assert.Throws<DeepSlideException>(() => new TilingOptions { Stride = 0 }.Validate());
        Assert.Throws<DeepSlideException>(() => new TilingOptions { MinTissueFraction = 1 }.Validate());
    }

    private sealed class RecordingReader(ISlideReader inner) : ISlideReader
    {
        public List<int> Levels { get; } = [];

        public List<(int Width, int Height)> Regions { get; } = [];

        public SlideInfo Info => inner.Info;

        public void ReadRegion(int level, long x, long y, int width, int height, Span<byte> rgb)
        {
            lock (Levels)
            {
                Levels.Add(level);
                Regions.Add((width, height));
            }

            inner.ReadRegion(level, x, y, width, height, rgb);
        }

        public Imaging.RgbImage ReadAssociatedImage(string name) => inner.ReadAssociatedImage(name);

        public void Dispose() => inner.Dispose();
    }
}
