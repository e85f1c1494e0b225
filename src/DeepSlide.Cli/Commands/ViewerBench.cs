using System.Diagnostics;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.Local;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepSlide.Cli.Commands;

/// <summary>
/// <c>deepslide bench --viewer</c>: the viewer's page load on the local stack. A finished run of a large slide is put in
/// the stores (its patch results are made up: this measures the viewer, not inference), then a viewer that never saw the
/// slide is asked for what the slide page asks for, as a browser would: the run, the descriptor and the home view's
/// tiles six at a time, then one full screen at full resolution. Timed over HTTP on loopback, without the browser's own
/// drawing.
/// </summary>
internal static class ViewerBench
{
    private const int ScreenWidth = 1920;
    private const int ScreenHeight = 1080;
    private const int BrowserConnections = 6;
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(string folder, int width, int height, CancellationToken cancellationToken)
    {
        string slide = BenchCommand.EnsureSlide(folder, width, height);
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; slide {slide} ({new FileInfo(slide).Length / 1e6:0} MB)");
        string stackFolder = Path.Combine(folder, "viewer-stack");
        if (Directory.Exists(stackFolder))
        {
            Directory.Delete(stackFolder, recursive: true);
        }

        await using LocalStack stack = await LocalStack.StartAsync(stackFolder, 0, null, NullLoggerFactory.Instance);
        var options = new LocalPipelineOptions { StorageConnection = stack.State.StorageConnection, CosmosEndpoint = stack.State.CosmosEndpoint };
        (string runId, (long X, long Y) tissue) = await StoreRunAsync(options, slide, cancellationToken);

        DeepZoomGrid grid;
        using (ISlideReader reader = SlideReader.Open(slide))
        {
            grid = new DeepZoomGrid(reader.Info.Levels);
        }

        // A viewer that has never opened the slide: the first page load.
        await using (LocalViewer fresh = await LocalViewer.StartAsync(options, Path.Combine(stackFolder, "viewer-cold"), cancellationToken: cancellationToken))
        {
            using var http = new HttpClient { BaseAddress = fresh.Address };
            var watch = Stopwatch.StartNew();
            await GetAsync(http, $"api/runs/{runId}", cancellationToken);
            await GetAsync(http, $"api/runs/{runId}/slide.dzi", cancellationToken);
            double descriptor = watch.Elapsed.TotalSeconds;
            IReadOnlyList<(int Level, int Column, int Row)> home = HomeView(grid);
            double firstTile = await GetAsync(http, Tile(runId, home[0]), cancellationToken) + watch.Elapsed.TotalSeconds;
            await ParallelAsync(http, home.Skip(1).Select(t => Tile(runId, t)), cancellationToken);
            double homeView = watch.Elapsed.TotalSeconds;
            long homeBytes = fresh.SlideBytesFetched;
            Console.WriteLine(string.Create(C, $"first page load, slide never opened: run and descriptor {descriptor:0.00} s, first tile at {firstTile:0.00} s, the whole home view ({home.Count} tiles at Deep Zoom level {home[0].Level}) at {homeView:0.00} s; {homeBytes / 1e6:0.0} MB fetched from blob storage"));

            watch.Restart();
            List<(int, int, int)> screen = FullScreen(grid, tissue);
            await ParallelAsync(http, screen.Select(t => Tile(runId, t)), cancellationToken);
            Console.WriteLine(string.Create(C, $"one {ScreenWidth} x {ScreenHeight} screen of tissue at full resolution ({screen.Count} tiles) then: {watch.Elapsed.TotalSeconds:0.00} s, {(fresh.SlideBytesFetched - homeBytes) / 1e6:0.00} MB more fetched; {fresh.SlideBytesFetched / 1e6:0.0} MB in all, {(double)fresh.SlideBytesFetched / new FileInfo(slide).Length:P1} of the slide"));
        }

        // Warm: the slide open and its structure at hand; every tile asked for is new to the viewer's tile cache.
        await using (LocalViewer warm = await LocalViewer.StartAsync(options, Path.Combine(stackFolder, "viewer-warm"), cancellationToken: cancellationToken))
        {
            using var http = new HttpClient { BaseAddress = warm.Address };
            await GetAsync(http, $"api/runs/{runId}/slide.dzi", cancellationToken);
            await ParallelAsync(http, HomeView(grid).Select(t => Tile(runId, t)), cancellationToken);
            var latencies = new List<double>();
            int top = grid.LevelCount - 1;
            (int columns, int rows) = grid.TileCount(top);
            foreach (int level in new[] { top, top - 1, top - 2 })
            {
                (int c, int r) = grid.TileCount(level);
                double scale = grid.Downsample(level) * grid.TileSize;
                int c0 = Math.Max(0, Math.Min(c - 12, (int)(tissue.X / scale) - 6));
                int r0 = Math.Max(0, Math.Min(r - 5, (int)(tissue.Y / scale) - 2));
                for (int i = 0; i < 60; i++)
                {
                    // A walk across tissue, as a pathologist pans: each tile once.
                    latencies.Add(await GetAsync(http, Tile(runId, (level, Math.Min(c - 1, c0 + (i % 12)), Math.Min(r - 1, r0 + (i / 12)))), cancellationToken));
                }
            }

            latencies.Sort();
            Console.WriteLine(string.Create(C, $"warm tile latency, {latencies.Count} tiles new to the viewer at the top three levels, one at a time: p50 {Percentile(latencies, 0.5) * 1000:0} ms, p95 {Percentile(latencies, 0.95) * 1000:0} ms (level {top} has {columns} x {rows} tiles)"));
        }

        return 0;
    }

    private static string Tile(string runId, (int Level, int Column, int Row) t) => $"api/runs/{runId}/slide_files/{t.Level}/{t.Column}_{t.Row}.jpeg";

    // The level OpenSeadragon opens at: the finest whose whole image fits the screen, and all its tiles.
    private static List<(int, int, int)> HomeView(DeepZoomGrid grid)
    {
        int level = grid.LevelCount - 1;
        while (level > 0 && (grid.LevelSize(level).Width > ScreenWidth || grid.LevelSize(level).Height > ScreenHeight))
        {
            level--;
        }

        (int columns, int rows) = grid.TileCount(level);
        return [.. Enumerable.Range(0, rows).SelectMany(r => Enumerable.Range(0, columns).Select(c => (level, c, r)))];
    }

    // The full-resolution tiles under one screen centred on a level-0 point.
    private static List<(int, int, int)> FullScreen(DeepZoomGrid grid, (long X, long Y) centre)
    {
        int level = grid.LevelCount - 1;
        int c0 = (int)(Math.Max(0, centre.X - (ScreenWidth / 2)) / grid.TileSize);
        int r0 = (int)(Math.Max(0, centre.Y - (ScreenHeight / 2)) / grid.TileSize);
        int c1 = Math.Min(grid.TileCount(level).Columns - 1, (int)((centre.X + (ScreenWidth / 2)) / grid.TileSize));
        int r1 = Math.Min(grid.TileCount(level).Rows - 1, (int)((centre.Y + (ScreenHeight / 2)) / grid.TileSize));
        return [.. Enumerable.Range(r0, r1 - r0 + 1).SelectMany(r => Enumerable.Range(c0, c1 - c0 + 1).Select(c => (level, c, r)))];
    }

    private static async Task<double> GetAsync(HttpClient http, string path, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        using HttpResponseMessage response = await http.GetAsync(path, cancellationToken);
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }

        return watch.Elapsed.TotalSeconds;
    }

    private static Task ParallelAsync(HttpClient http, IEnumerable<string> paths, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = BrowserConnections, CancellationToken = cancellationToken }, async (path, token) => await GetAsync(http, path, token));

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>Uploads the slide and stores a finished run of it, with made-up patch results, as the workers would.</summary>
    private static async Task<(string RunId, (long X, long Y) Tissue)> StoreRunAsync(LocalPipelineOptions options, string slide, CancellationToken cancellationToken)
    {
        PipelineStores stores = await new StorageAccount(options.StorageConnection).StoresAsync(cancellationToken);
        string blob = "bench/" + Path.GetFileName(slide);
        BlobVersion version = await PipelineStores.UploadFileAsync(stores.Slides, blob, slide, cancellationToken);
        string runId = PipelineNames.RunIdForUpload(blob, version.ETag);
        TilePlan plan;
        using (ISlideReader reader = SlideReader.Open(slide))
        {
            plan = TilePlanner.Plan(reader, new TilingOptions()) with { SlidePath = blob };
        }

        string[] classes = ["adenocarcinoma", "benign", "squamous"];
        var random = new Random(1);
        var values = new float[plan.Tiles.Count * classes.Length];
        for (int i = 0; i < plan.Tiles.Count; i++)
        {
            float a = (float)random.NextDouble(), b = (float)random.NextDouble() * (1 - a);
            (values[i * 3], values[(i * 3) + 1], values[(i * 3) + 2]) = (a, b, 1 - a - b);
        }

        var patches = new PatchProbabilities(classes, values);
        var calls = new ISlideAggregator[] { new MajorityVoteAggregator(), new MeanProbabilityAggregator() }.Select(g => g.Aggregate(patches)).ToList();
        var result = new SlideResult(blob, SlideStatus.Classified, plan, patches, calls, "bench", 0);
        string scratch = Path.Combine(Path.GetTempPath(), $"deepslide-viewer-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            string parquet = Path.Combine(scratch, "patches.parquet");
            await PatchParquet.WriteAsync(result, parquet, cancellationToken);
            await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.Patches(runId), parquet, cancellationToken);
            string text = Path.Combine(scratch, "text");
            await File.WriteAllTextAsync(text, ResultFiles.ToJson(result), cancellationToken);
            await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.Result(runId), text, cancellationToken);
            await File.WriteAllTextAsync(text, TilePlanJson.Serialize(plan), cancellationToken);
            await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.Plan(runId), text, cancellationToken);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }

        using var cosmos = new CosmosClient(options.CosmosEndpoint, options.CosmosKey, CosmosSlideRunStore.ClientOptions(acceptLoopbackCertificate: true));
        CosmosSlideRunStore runs = await CosmosSlideRunStore.CreateAsync(cosmos, options.Database, options.RunsContainer, cancellationToken);
        await runs.UpsertAsync(
            new SlideRun
            {
                Id = runId,
                SlideId = SlideRun.SlideIdOf(blob),
                SlideBlob = blob,
                SlideETag = version.ETag,
                ModelPrefix = "bench",
                Status = RunStatus.Completed,
                Patches = plan.Tiles.Count,
                RangesDone = 1,
                RangesTotal = 1,
                CreatedUtc = DateTimeOffset.UtcNow,
                UpdatedUtc = DateTimeOffset.UtcNow,
                Calls = calls.Select(c => new StoredCall(c.Method, c.Label, classes.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => c.Scores[p.i]), c.Note) { Focus = c.Focus }).ToList(),
            },
            cancellationToken);
        Console.WriteLine(string.Create(C, $"stored run {runId}: {plan.Tiles.Count} patches (made up), slide uploaded"));
        Tile middle = plan.Tiles.OrderBy(t => t.Y).ThenBy(t => t.X).ElementAt(plan.Tiles.Count / 2);
        return (runId, (middle.X + 112, middle.Y + 112));
    }
}
