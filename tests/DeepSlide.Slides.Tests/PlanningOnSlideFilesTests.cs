using DeepSlide.Imaging;
using DeepSlide.Patches;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Slides.Tests;

public class PlanningOnSlideFilesTests(SlideFiles files) : IClassFixture<SlideFiles>
{
    /// <summary>The share of a level-0 square that the synthetic slide drew as tissue.</summary>
    private double TrueTissue(long x, long y, double size)
    {
        int hits = 0, total = 0;
        for (double dy = 4; dy < size; dy += 8)
        {
            for (double dx = 4; dx < size; dx += 8)
            {
                long px = x + (long)dx, py = y + (long)dy;
                total++;
                hits += px < files.Spec.Width && py < files.Spec.Height && files.Slide.IsTissue(px, py) ? 1 : 0;
            }
        }

        return hits / (double)total;
    }

    [Theory]
    [InlineData(TissueMethod.Otsu)]
    [InlineData(TissueMethod.Purple)]
    public void The_plan_keeps_the_tiles_that_are_tissue_and_drops_the_background(TissueMethod method)
    {
        using ISlideReader reader = SlideReader.Open(files.Aperio);
        TilePlan plan = TilePlanner.Plan(reader, new TilingOptions { TissueMethod = method });
        var kept = plan.Tiles.Select(t => (t.Column, t.Row)).ToHashSet();
        int agree = 0, total = 0;
        for (int r = 0; r < plan.Rows; r++)
        {
            for (int c = 0; c < plan.Columns; c++)
            {
                double truth = TrueTissue(c * 224L, r * 224L, 224);
                if (truth is > 0.1 and < 0.6)
                {
                    continue; // tiles on the tissue border may go either way
                }

                total++;
                agree += kept.Contains((c, r)) == truth >= 0.6 ? 1 : 0;
            }
        }

        Assert.True(agree >= total * 0.97, $"{agree} of {total} clear-cut tiles classified right");
        Assert.InRange(plan.Tiles.Count, 20, plan.GridTileCount - 20);
    }

    [Fact]
    public async Task Streaming_at_an_mpp_between_levels_rescales_level_0_reads()
    {
        using ISlideReader reader = SlideReader.Open(files.Aperio);
        TilePlan plan = TilePlanner.Plan(reader, new TilingOptions { Resolution = Resolution.AtMpp(1.0) });
        Assert.Equal((0, 2.0), (plan.Level, plan.Downsample));
        int count = 0, compared = 0;
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan))
        {
            using (patch)
            {
                count++;
                if (count % 3 == 0 && patch.Tile.X + 448 <= files.Spec.Width && patch.Tile.Y + 448 <= files.Spec.Height)
                {
                    var level0 = reader.ReadRegion(0, patch.Tile.X, patch.Tile.Y, 448, 448);
                    RgbImage halved = Resampler.Resize(level0, 224, 224);
                    Assert.Equal(halved.Pixels, patch.Pixels.ToArray());
                    compared++;
                }
            }
        }

        Assert.Equal(plan.Tiles.Count, count);
        Assert.True(compared >= 2, $"compared {compared} patches");
    }

    [Fact]
    public async Task Streamed_patches_equal_single_patch_reads()
    {
        using ISlideReader reader = SlideReader.Open(files.GenericTiff);
        TilePlan plan = TilePlanner.Plan(reader, new TilingOptions { Stride = 150 });
        int checkedPatches = 0;
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan))
        {
            using (patch)
            {
                if (patch.Tile.Index % 5 == 0)
                {
                    Assert.Equal(reader.ReadRegion(0, patch.Tile.X, patch.Tile.Y, 224, 224).Pixels, patch.Pixels.ToArray());
                    checkedPatches++;
                }
            }
        }

        Assert.True(checkedPatches > 10);
    }

    [Fact]
    public void A_slide_without_tissue_plans_to_an_empty_plan()
    {
        string path = files.PathFor("blank.tif");
        SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("benign", 1500, 1200, 3) { TissueCoverage = 0 }), path, SyntheticFormat.Tiff);
        using ISlideReader reader = SlideReader.Open(path);
        foreach (TissueMethod method in Enum.GetValues<TissueMethod>())
        {
            TilePlan plan = TilePlanner.Plan(reader, new TilingOptions { TissueMethod = method });
            Assert.True(plan.IsEmpty, method.ToString());
            Assert.Equal(42, plan.GridTileCount);
        }
    }

    [Fact]
    public void A_slide_smaller_than_one_patch_is_refused()
    {
        string path = files.PathFor("tiny.png");
        ImageFiles.Save(RgbImage.Filled(200, 150, 200, 100, 200), path);
        using ISlideReader reader = SlideReader.Open(path);
        var ex = Assert.Throws<DeepSlideException>(() => TilePlanner.Plan(reader, new TilingOptions()));
        Assert.Equal(DeepSlideErrorReason.SlideTooSmall, ex.Reason);
        Assert.Contains("tiny.png", ex.Message);
        Assert.Contains("smaller than one 224x224 patch", ex.Message);
    }

    [Fact]
    public void Magnification_on_a_slide_without_objective_power_is_refused()
    {
        using ISlideReader reader = SlideReader.Open(files.GenericTiff);
        var ex = Assert.Throws<DeepSlideException>(() => TilePlanner.Plan(reader, new TilingOptions { Resolution = Resolution.AtMagnification(10) }));
        Assert.Equal(DeepSlideErrorReason.ResolutionUnavailable, ex.Reason);
        Assert.Contains("generic.tif", ex.Message);
    }
}
