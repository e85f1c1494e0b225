using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Pipeline.Local;
using DeepSlide.Results;
using DeepSlide.Viewer.Tests;
using Microsoft.Playwright;

namespace DeepSlide.Pipeline.Tests;

/// <summary>
/// The viewer over the local stack with one finished run, in a real browser: the runs page lists it with its calls,
/// the slide page shows tiles read through the workers' ranged reads at three zoom levels down to full resolution, the
/// class layer draws the model's colour for the class the Parquet gives a patch, and a click shows that patch's
/// probabilities. The slide's hostile name is shown as text.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class ViewerOnLocalStackTests(EmulatorsFixture emulators) : IAsyncLifetime
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-viewer-stack-").FullName;
    private readonly Chromium _chromium = new();

    public Task InitializeAsync() => _chromium.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _chromium.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_finished_run_is_listed_and_its_slide_page_shows_tiles_layers_and_patches()
    {
        await using var pipeline = new LocalPipeline(emulators.Azurite.ConnectionString, emulators.Cosmos.Endpoint, _folder, tilesPerRange: 16);
        // Thresholding by focus, with thresholds the random head's patches reach, so the call rests on a focus.
        await pipeline.UploadModelAsync(a => a with { NormalClass = "benign", MinFocus = 1, Thresholds = new Dictionary<string, double> { ["adenocarcinoma"] = 0.34, ["benign"] = 0.34, ["squamous"] = 0.34 } });
        string slide = LocalPipeline.WriteSlide(_folder, "case.svs", seed: 31, width: 3000, height: 2200);
        LocalDurableHost host = await pipeline.StartHostAsync();
        await pipeline.StartWorkerAsync();
        string blob = $"lab-v/{pipeline.Options.ModelPrefix}/<script>alert(1)</script> \"x\".svs";
        BlobVersion version = await pipeline.UploadSlideAsync(blob, slide);
        string runId = PipelineNames.RunIdForUpload(blob, version.ETag);
        SlideRun run = await host.WaitForRunAsync(SlideRun.SlideIdOf(blob), runId, RunTimeout);
        Assert.True(run.Status == RunStatus.Completed, $"{run.Status}: {run.Error}");

        await using LocalViewer viewer = await LocalViewer.StartAsync(pipeline.Options, Path.Combine(_folder, "viewer"));
        IPage runsPage = await _chromium.Browser.NewPageAsync();
        await runsPage.GotoAsync(viewer.Address.ToString());
        ILocator row = runsPage.Locator($"#runs tbody tr[data-run='{runId}']");
        // The list is every run in the shared test store, refreshed every 3 s: on a loaded machine give it time.
        await Assertions.Expect(row).ToHaveCountAsync(1, new LocatorAssertionsToHaveCountOptions { Timeout = 60_000 });
        Assert.Equal(blob, await row.Locator(".slide").InnerTextAsync());
        Assert.Equal(string.Join(", ", run.Calls.Select(c => $"{c.Method}: {c.Label}")), await row.Locator(".calls").InnerTextAsync());
        Assert.Equal("Completed", await row.Locator(".status").InnerTextAsync());
        Assert.Equal(0, await runsPage.Locator("#runs script").CountAsync());

        SlidePage page = await SlidePage.OpenAsync(_chromium.Browser, viewer.Address, runId);
        Assert.Equal(blob, await page.Page.Locator("#title").InnerTextAsync());
        await page.WaitForLayerAsync("classes");
        Assert.Equal(["classes", "heatmap-0", "heatmap-1", "heatmap-2", "attention", "tissue"], await page.Page.Locator("#layers [data-layer]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.layer)"));

        // A patch whose neighbours share its class, so the pixel at its centre is its own cell's colour.
        PipelineStores stores = await pipeline.Storage.StoresAsync();
        string parquet = Path.Combine(_folder, "patches.parquet");
        BlobVersion patches = (await stores.Results.GetVersionAsync(RunBlobs.Patches(runId)))!;
        await stores.Results.DownloadAsync(patches.Name, patches.ETag, parquet);
        string[] classes = ["adenocarcinoma", "benign", "squamous"];
        (long[] xs, long[] ys, string[] predictions, float[][] columns) = await PatchParquet.ReadAsync(parquet, classes);
        int i = Enumerable.Range(0, xs.Length).OrderByDescending(p => columns[classes.ToList().IndexOf(predictions[p])][p]).First();

        await page.GoToAsync(xs[i] + 112, ys[i] + 112, 4);
        await page.GoToAsync(xs[i] + 112, ys[i] + 112, 2);
        await page.SetOpacityAsync("classes", 1);
        await page.GoToAsync(xs[i] + 112, ys[i] + 112, 1);
        int fullResolution = (int)Math.Ceiling(Math.Log2(3000));
        Assert.Contains(fullResolution, page.TileLevels);
        Assert.True(page.TileLevels.Count >= 3, $"tiles loaded at levels {string.Join(", ", page.TileLevels)}");

        (double sx, double sy) = await page.ScreenPointAsync(xs[i] + 112, ys[i] + 112);
        (byte R, byte G, byte B) colour = predictions[i] == "squamous" ? ((byte)200, (byte)30, (byte)160) : Imaging.CategoricalPalette.For(classes.ToList().IndexOf(predictions[i]));
        Assert.Equal(colour, await page.PixelAsync(sx, sy, "local-class-layer.png"));
        (long px, long py, IReadOnlyDictionary<string, float> shown) = await page.ClickPatchAsync(sx, sy);
        Assert.Equal((xs[i], ys[i]), (px, py));
        Assert.Equal(classes.Select((_, c) => columns[c][i]), classes.Select(c => shown[c]));

        // The focus the threshold call rests on came through the worker, the orchestration and the run document.
        FocusArea focus = run.Calls.Single(c => c.Method == "threshold").Focus!;
        await page.Page.Locator("#calls tr[data-method='threshold'] .show-focus").ClickAsync();
        LocatorBoundingBoxResult outline = (await page.Page.Locator("#focus-outline").BoundingBoxAsync())!;
        (double left, double top) = await page.ScreenPointAsync(focus.Column * 224, focus.Row * 224);
        Assert.True(Math.Abs(outline.X - left) <= 1 && Math.Abs(outline.Y - top) <= 1, $"the outline is at ({outline.X}, {outline.Y}), the focus at ({left}, {top})");

        await page.SetOpacityAsync("classes", 0.45);
        await page.GoToAsync(xs[i] + 112, ys[i] + 112, 2.5);
        await page.Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.Screenshots, "local-slide-page.png") });
        Assert.True(page.ConsoleErrors.Count == 0, string.Join("\n", page.ConsoleErrors));

        // A viewer that never saw the slide fetches the structure, the smallest level and the TIFF tiles under the Deep
        // Zoom tiles asked for, not the slide (the structure's 64 KiB blocks are most of that on this 0.8 MB slide;
        // bench-viewer measures a 60,000 x 40,000 one).
        await using LocalViewer fresh = await LocalViewer.StartAsync(pipeline.Options, Path.Combine(_folder, "viewer-fresh"));
        using var http = new HttpClient { BaseAddress = fresh.Address };
        foreach (string tile in new[] { "4_3", "5_3", "4_4", "5_4" })
        {
            Assert.Equal("image/jpeg", (await http.GetAsync($"api/runs/{runId}/slide_files/{fullResolution}/{tile}.jpeg")).Content.Headers.ContentType?.MediaType);
        }

        Assert.InRange(fresh.SlideBytesFetched, 1, version.Length / 2);

        // The slide replaced by another upload: a viewer that had not read it yet says so instead of mixing versions.
        await pipeline.UploadSlideAsync(blob, LocalPipeline.WriteSlide(_folder, "other.svs", seed: 32, width: 3000, height: 2200));
        await using LocalViewer late = await LocalViewer.StartAsync(pipeline.Options, Path.Combine(_folder, "viewer-late"));
        using var lateHttp = new HttpClient { BaseAddress = late.Address };
        using HttpResponseMessage changed = await lateHttp.GetAsync($"api/runs/{runId}/slide_files/{fullResolution}/4_3.jpeg");
        Assert.Equal(System.Net.HttpStatusCode.Conflict, changed.StatusCode);
        Assert.Contains("changed since version", await changed.Content.ReadAsStringAsync());
    }
}
