using DeepSlide.Patches;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Core.Tests;

public class PatchStreamTests
{
    private static TilePlan PlanAll(FunctionSlideReader reader, TilingOptions? options = null)
    {
        options ??= new TilingOptions();
        ResolvedResolution resolved = options.Resolution.Resolve(reader.Info);
        int w = (int)Math.Ceiling(reader.Info.Width / 14.0), h = (int)Math.Ceiling(reader.Info.Height / 14.0);
        var mask = new TissueMask(w, h, 14, Enumerable.Repeat(true, w * h).ToArray());
        return TilePlanner.Plan(reader.Info, resolved, options with { MinTissueFraction = 0 }, mask);
    }

    [Fact]
    public async Task Patches_come_in_plan_order_with_exactly_the_slides_pixels_and_white_beyond_the_edge()
    {
        var reader = new FunctionSlideReader(1000, 500);
        TilePlan plan = PlanAll(reader);
        var seen = new List<Tile>();
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan))
        {
            using (patch)
            {
                seen.Add(patch.Tile);
                Span<byte> p = patch.Pixels;
                for (int y = 0; y < 224; y += 37)
                {
                    for (int x = 0; x < 224; x += 29)
                    {
                        long x0 = patch.Tile.X + x, y0 = patch.Tile.Y + y;
                        (byte r, byte g, byte b) = x0 >= 1000 || y0 >= 500 ? ((byte)255, (byte)255, (byte)255) : reader.Pixel(x0, y0);
                        int i = (y * 224 + x) * 3;
                        Assert.Equal((r, g, b), (p[i], p[i + 1], p[i + 2]));
                    }
                }
            }
        }

        Assert.Equal(plan.Tiles, seen);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public async Task N_readers_on_their_own_handles_deliver_every_planned_patch_exactly_once_in_plan_order(int readers)
    {
        var reader = new FunctionSlideReader(224 * 9, 224 * 7) { OpensHandles = true, ReadDelay = TimeSpan.FromMilliseconds(2) };
        TilePlan plan = PlanAll(reader);
        var seen = new List<Tile>();
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, new PatchStreamOptions { Readers = readers, ReadAhead = 3, MaxTilesPerRegion = 2 }))
        {
            using (patch)
            {
                seen.Add(patch.Tile);
                int i = (111 * 224 + 57) * 3;
                Assert.Equal(reader.Pixel(patch.Tile.X + 57, patch.Tile.Y + 111), (patch.Pixels[i], patch.Pixels[i + 1], patch.Pixels[i + 2]));
            }
        }

        Assert.Equal(plan.Tiles, seen);
        Assert.Equal(readers - 1, reader.Opened.Count);
        Assert.All(reader.Opened, r => Assert.True(r.Disposed));
        int regions = plan.Tiles.GroupBy(t => t.Row).Sum(row => (row.Count() + 1) / 2);
        Assert.Equal(regions, reader.Reads + reader.Opened.Sum(r => r.Reads));
    }

    [Fact]
    public async Task A_consumer_that_stops_early_leaves_no_reader_running_and_every_handle_closed()
    {
        var reader = new FunctionSlideReader(224 * 20, 224 * 20) { OpensHandles = true, ReadDelay = TimeSpan.FromMilliseconds(1) };
        TilePlan plan = PlanAll(reader);
        int taken = 0;
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, new PatchStreamOptions { Readers = 4, ReadAhead = 4, MaxTilesPerRegion = 1 }))
        {
            patch.Dispose();
            if (++taken == 5)
            {
                break;
            }
        }

        // The loop's end awaited the stream's disposal: no read may still be under way, so the count is final.
        Assert.Equal(0, reader.InFlight + reader.Opened.Sum(r => r.InFlight));
        int reads = reader.Reads + reader.Opened.Sum(r => r.Reads);
        Assert.InRange(reads, 5, 5 + 4 + 4);
        Assert.All(reader.Opened, r => Assert.True(r.Disposed));
        Assert.False(reader.Disposed);
    }

    [Fact]
    public void The_plan_runs_in_16_x_16_blocks_so_a_contiguous_range_is_a_compact_patch_of_the_slide()
    {
        var reader = new FunctionSlideReader(224 * 40, 224 * 20);
        TilePlan plan = PlanAll(reader);
        Assert.Equal(40 * 20, plan.Tiles.Count);
        Assert.Equal(Enumerable.Range(0, plan.Tiles.Count), plan.Tiles.Select(t => t.Index));
        Assert.Equal(plan.Tiles.Count, plan.Tiles.Select(t => (t.Column, t.Row)).Distinct().Count());

        // The first block, row by row, then the block to its right, then the narrower last block of the first band.
        Assert.Equal([(0, 0), (1, 0), (15, 0), (0, 1), (15, 15), (16, 0), (31, 15), (32, 0), (39, 15), (0, 16)],
            new[] { 0, 1, 15, 16, 255, 256, 511, 512, 639, 640 }.Select(i => (plan.Tiles[i].Column, plan.Tiles[i].Row)));

        // A range of 256 tiles spans at most two blocks: 32 rows, not the two rows a row-major range would.
        TileRange range = plan.Split(256)[1];
        IReadOnlyList<Tile> tiles = plan.TilesOf(range);
        Assert.True(tiles.Max(t => t.Row) - tiles.Min(t => t.Row) >= 15);
        Assert.True(tiles.Max(t => t.Column) - tiles.Min(t => t.Column) <= 31);
    }

    [Fact]
    public async Task A_row_of_neighbouring_tiles_is_read_as_one_region()
    {
        var reader = new FunctionSlideReader(224 * 10, 224 * 2);
        TilePlan plan = PlanAll(reader);
        int count = 0;
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, new PatchStreamOptions { MaxTilesPerRegion = 10 }))
        {
            patch.Dispose();
            count++;
        }

        Assert.Equal(20, count);
        Assert.Equal(2, reader.Reads);

        // By default a region holds at most 8 tiles, so each row of 10 takes two reads.
        var defaults = new FunctionSlideReader(224 * 10, 224 * 2);
        await foreach (Patch patch in PatchStream.ReadAsync(defaults, PlanAll(defaults)))
        {
            patch.Dispose();
        }

        Assert.Equal(4, defaults.Reads);
    }

    [Fact]
    public void Regions_split_at_rows_gaps_and_the_size_limit()
    {
        Tile T(int c, int r) => new(0, c, r, c * 224L, r * 224L, 1);
        Tile[] tiles = [T(0, 0), T(1, 0), T(3, 0), T(6, 0), T(7, 0), T(0, 1), T(1, 1), T(2, 1)];
        var options = new PatchStreamOptions { MaxTilesPerRegion = 2, MaxGapTiles = 1 };
        Assert.Equal([(0, 2), (2, 1), (3, 2), (5, 2), (7, 1)], PatchStream.Regions(tiles, 224, options).ToList());
    }

    [Fact]
    public async Task Rescaled_patches_average_the_finer_level()
    {
        // A vertical stripe pattern of period 2 at level 0: at half resolution each pixel averages one of each.
        var reader = new FunctionSlideReader(1000, 1000, mpp: 0.25) { Pixel = (x, y) => x % 2 == 0 ? ((byte)100, (byte)0, (byte)50) : ((byte)200, (byte)100, (byte)150) };
        TilePlan plan = PlanAll(reader, new TilingOptions { Resolution = Resolution.AtMpp(0.5) });
        Assert.Equal(2, plan.Downsample);
        int inside = 0;
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan))
        {
            using (patch)
            {
                if (patch.Tile.X + 448 <= 1000 && patch.Tile.Y + 448 <= 1000)
                {
                    Assert.Equal((150, 50, 100), (patch.Pixels[300], patch.Pixels[301], patch.Pixels[302]));
                    inside++;
                }
            }
        }

        Assert.Equal(4, inside);
    }

    [Fact]
    public async Task Stopping_early_leaves_no_read_running()
    {
        var reader = new FunctionSlideReader(224 * 40, 224 * 40) { ReadDelay = TimeSpan.FromMilliseconds(1) };
        TilePlan plan = PlanAll(reader);
        int taken = 0;
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, new PatchStreamOptions { ReadAhead = 2, MaxTilesPerRegion = 4 }))
        {
            patch.Dispose();
            if (++taken == 5)
            {
                break;
            }
        }

        Assert.Equal(0, reader.InFlight);
        int readsAfterStop = reader.Reads;
        Assert.True(readsAfterStop < 10, $"read {readsAfterStop} regions to serve 5 patches");
    }

    [Fact]
    public async Task A_read_failure_reaches_the_consumer()
    {
        var reader = new FunctionSlideReader(2000, 2000) { Pixel = (x, y) => y > 800 ? throw new InvalidDataException("bad tile") : ((byte)1, (byte)2, (byte)3) };
        TilePlan plan = PlanAll(reader);
        await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (Patch patch in PatchStream.ReadAsync(reader, plan))
            {
                patch.Dispose();
            }
        });
    }

    [Fact]
    public async Task Cancellation_stops_the_stream()
    {
        var reader = new FunctionSlideReader(224 * 20, 224 * 20);
        TilePlan plan = PlanAll(reader);
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, cancellationToken: cts.Token))
            {
                patch.Dispose();
                cts.Cancel();
            }
        });
    }
}
