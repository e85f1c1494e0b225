using System.Buffers;
using System.Runtime.CompilerServices;
using DeepSlide.Imaging;
using DeepSlide.Slides;
using DeepSlide.Tiling;

namespace DeepSlide.Patches;

/// <summary>
/// Streams the patches of a plan in plan order. Neighbouring tiles of a row are read as one region and cut in
/// memory; regions are read by <see cref="PatchStreamOptions.Readers"/> threads, each on its own handle, at most
/// <see cref="PatchStreamOptions.ReadAhead"/> regions ahead of the consumer.
/// </summary>
public static class PatchStream
{
    public static IAsyncEnumerable<Patch> ReadAsync(
        ISlideReader reader, TilePlan plan, PatchStreamOptions? options = null, CancellationToken cancellationToken = default) =>
        ReadAsync(reader, plan, plan.Tiles, options, cancellationToken);

    public static async IAsyncEnumerable<Patch> ReadAsync(
        ISlideReader reader,
        TilePlan plan,
        IReadOnlyList<Tile> tiles,
        PatchStreamOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(plan);
        options ??= new PatchStreamOptions();
        var geometry = new Geometry(reader.Info.Levels[plan.Level], plan);
        var buffers = new PatchBufferPool(geometry.Window * geometry.Window * 3);
        List<(int Start, int Count)> regions = Regions(tiles, geometry.TileSize0, options).ToList();

        // Region i's patches land in slot i, whichever reader reads it, so the consumer takes them in plan order.
        // A reader claims a region only once the window has room: at most ReadAhead regions are read and not yet taken.
        var slots = regions.Select(_ => new TaskCompletionSource<Patch[]>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        using var window = new SemaphoreSlim(Math.Max(1, options.ReadAhead));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        int next = -1;
        int readerCount = Math.Clamp(options.Readers, 1, Math.Max(1, regions.Count));
        Task[] readers = Enumerable.Range(0, readerCount).Select(k => Task.Run(
            async () =>
            {
                ISlideReader? own = null;
                try
                {
                    own = k == 0 ? null : reader.OpenAnother();
                    ISlideReader mine = own ?? reader;
                    while (true)
                    {
                        await window.WaitAsync(stop.Token).ConfigureAwait(false);
                        int i = Interlocked.Increment(ref next);
                        if (i >= regions.Count)
                        {
                            return;
                        }

                        try
                        {
                            slots[i].SetResult(ReadRegion(mine, geometry, tiles, regions[i].Start, regions[i].Count, buffers));
                        }
                        catch (Exception ex)
                        {
                            slots[i].SetException(ex);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // The consumer stopped.
                }
                catch (Exception ex)
                {
                    // Opening this reader's own handle failed: the regions it would have read fail with the reason.
                    while (Interlocked.Increment(ref next) is int i && i < regions.Count)
                    {
                        slots[i].SetException(ex);
                    }
                }
                finally
                {
                    own?.Dispose();
                }
            },
            CancellationToken.None)).ToArray();

        int taken = 0;
        try
        {
            for (; taken < slots.Length; taken++)
            {
                Patch[] patches = await slots[taken].Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                window.Release();
                for (int p = 0; p < patches.Length; p++)
                {
                    Patch patch = patches[p];
                    patches[p] = null!;
                    yield return patch;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(readers).ConfigureAwait(false);
            foreach (TaskCompletionSource<Patch[]> slot in slots.Skip(taken))
            {
                if (slot.Task.IsCompletedSuccessfully)
                {
                    foreach (Patch patch in slot.Task.Result)
                    {
                        patch?.Dispose();
                    }
                }
            }
        }
    }

    /// <summary>Splits tiles (in plan order) into runs read as one region: same row, small gaps, bounded count.</summary>
    internal static IEnumerable<(int Start, int Count)> Regions(IReadOnlyList<Tile> tiles, double tileSize0, PatchStreamOptions options)
    {
        int start = 0;
        for (int i = 1; i <= tiles.Count; i++)
        {
            bool split = i == tiles.Count
                || tiles[i].Row != tiles[start].Row
                || tiles[i].Y != tiles[start].Y
                || tiles[i].X <= tiles[i - 1].X
                || tiles[i].X - tiles[i - 1].X > (options.MaxGapTiles + 1) * tileSize0
                || i - start >= options.MaxTilesPerRegion;
            if (split)
            {
                if (i > start)
                {
                    yield return (start, i - start);
                }

                start = i;
            }
        }
    }

    private static Patch[] ReadRegion(ISlideReader reader, Geometry g, IReadOnlyList<Tile> tiles, int start, int count, PatchBufferPool buffers)
    {
        Tile first = tiles[start];
        Tile last = tiles[start + count - 1];
        double ds = g.Level.Downsample;
        int height = (int)Math.Ceiling(g.TileSizeAtLevel);
        int width = (int)Math.Ceiling((last.X - first.X) / ds + g.TileSizeAtLevel);
        int window = g.Window;
        byte[] region = ArrayPool<byte>.Shared.Rent(checked(width * height * 3));
        var patches = new Patch[count];
        try
        {
            reader.ReadRegion(g.Level.Index, first.X, first.Y, width, height, region);
            for (int k = 0; k < count; k++)
            {
                Tile tile = tiles[start + k];
                var patch = new Patch(tile, window, buffers);
                patches[k] = patch;
                double offset = (tile.X - first.X) / ds;
                if (g.Rescale)
                {
                    Resampler.Resample(region, width * 3, width, height, offset, 0, g.TileSizeAtLevel, g.TileSizeAtLevel, patch.Pixels, window, window);
                }
                else
                {
                    int x = Math.Min((int)Math.Round(offset), width - window);
                    Span<byte> dst = patch.Pixels;
                    for (int y = 0; y < window; y++)
                    {
                        region.AsSpan((y * width + x) * 3, window * 3).CopyTo(dst.Slice(y * window * 3, window * 3));
                    }
                }
            }

            return patches;
        }
        catch
        {
            foreach (Patch? patch in patches)
            {
                patch?.Dispose();
            }

            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(region);
        }
    }

    private sealed class Geometry
    {
        public Geometry(SlideLevel level, TilePlan plan)
        {
            Level = level;
            Window = plan.Window;
            TileSize0 = plan.TileSizeAtLevel0;
            double scale = plan.Downsample / level.Downsample;
            Rescale = Math.Abs(scale - 1) > 1e-9;
            TileSizeAtLevel = Rescale ? plan.Window * scale : plan.Window;
        }

        public SlideLevel Level { get; }

        public int Window { get; }

        public double TileSize0 { get; }

        public double TileSizeAtLevel { get; }

        public bool Rescale { get; }
    }
}
