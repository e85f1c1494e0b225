using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Results;
using Microsoft.Playwright;

namespace DeepSlide.Viewer.Tests;

/// <summary>The runs page and the slide page of <c>deepslide view</c>, in a real browser.</summary>
public sealed class ViewerPageTests(ViewerSlides slides, Chromium chromium) : IClassFixture<ViewerSlides>, IClassFixture<Chromium>
{
    [Fact]
    public async Task The_runs_page_lists_each_run_with_its_calls_filters_and_shows_names_as_text()
    {
        await using ViewerServer server = await ViewerServer.StartAsync(new ResultsFolderSource(slides.ResultsFolder, slides.SlidesFolder));
        IPage page = await chromium.Browser.NewPageAsync();
        await page.GotoAsync(server.Address.ToString());
        ILocator rows = page.Locator("#runs tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        string hostile = "case <b>\"7\".svs";
        ILocator hostileRow = page.Locator("#runs tbody tr", new PageLocatorOptions { HasText = hostile });
        await Assertions.Expect(hostileRow).ToHaveCountAsync(1);
        Assert.Equal(0, await page.Locator("#runs b").CountAsync());
        Assert.Equal("Completed", await hostileRow.Locator(".status").InnerTextAsync());
        Assert.Equal("majority: squamous, mean: squamous, threshold: squamous", await hostileRow.Locator(".calls").InnerTextAsync());
        Assert.Equal(string.Empty, await hostileRow.Locator(".review").InnerTextAsync());
        ILocator differing = page.Locator("#runs tbody tr", new PageLocatorOptions { HasText = "generic.tif" });
        Assert.Equal("majority: squamous, mean: squamous, threshold: benign", await differing.Locator(".calls").InnerTextAsync());
        Assert.Equal(("calls differ", "The aggregators call squamous, benign: worth a look."), (await differing.Locator(".review").InnerTextAsync(), await differing.Locator(".review").GetAttributeAsync("title")));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.Screenshots, "runs-page.png") });
        await page.Locator("#differ").CheckAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        Assert.Equal("generic.tif", await rows.Locator(".slide").InnerTextAsync());
        await page.Locator("#differ").UncheckAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(2);

        await page.Locator("#search").FillAsync("generic");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        Assert.Equal("generic.tif", await rows.Locator(".slide").InnerTextAsync());
        await page.Locator("#search").FillAsync(string.Empty);
        await page.Locator("#status").SelectOptionAsync("Failed");
        await Assertions.Expect(rows).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#message")).ToHaveTextAsync("No runs match.");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.Screenshots, "runs-page-filtered.png") });
    }

    [Fact]
    public async Task The_slide_page_zooms_to_full_resolution_draws_the_class_colour_at_a_tumour_region_and_shows_a_patch()
    {
        await using ViewerServer server = await ViewerServer.StartAsync(new ResultsFolderSource(slides.ResultsFolder, slides.SlidesFolder));
        string runId = slides.RunIdOf(slides.Aperio);
        SlidePage page = await SlidePage.OpenAsync(chromium.Browser, server.Address, runId);
        Assert.Equal("case <b>\"7\".svs", await page.Page.Locator("#title").InnerTextAsync());
        Assert.Equal(0, await page.Page.Locator("header b").CountAsync());
        await page.WaitForLayerAsync("classes");
        Assert.Equal(["majority", "mean", "threshold"], await page.Page.Locator("#calls tbody td:first-child").AllInnerTextsAsync());

        (long x, long y, float[] expected) = await TumourPatchAsync(slides.Aperio);
        int fullResolution = new Tiling.DeepZoomGrid(Slides.SlideReader.Open(slides.Aperio).Info.Levels).LevelCount - 1;
        await page.GoToAsync(x + 112, y + 112, 4);
        await page.GoToAsync(x + 112, y + 112, 2);
        await page.SetOpacityAsync("classes", 1);
        await page.GoToAsync(x + 112, y + 112, 1);
        Assert.Contains(fullResolution, page.TileLevels);
        Assert.True(page.TileLevels.Count >= 3, $"tiles loaded at levels {string.Join(", ", page.TileLevels)}");

        (double sx, double sy) = await page.ScreenPointAsync(x + 112, y + 112);
        Assert.Equal(((byte)200, (byte)30, (byte)160), await page.PixelAsync(sx, sy, "class-layer-at-tumour.png"));

        (long px, long py, IReadOnlyDictionary<string, float> shown) = await page.ClickPatchAsync(sx, sy);
        Assert.Equal((x, y), (px, py));
        Assert.Equal(expected, ViewerSlides.Classes.Select(c => shown[c]).ToArray());

        await page.SetOpacityAsync("classes", 0.5);
        await page.GoToAsync(x + 112, y + 112, 3);
        await page.Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.Screenshots, "slide-page.png") });
        Assert.True(page.ConsoleErrors.Count == 0, string.Join("\n", page.ConsoleErrors));
    }

    [Fact]
    public async Task The_slide_page_shows_why_a_call_was_made_and_takes_the_reader_to_the_focus_it_rests_on()
    {
        await using ViewerServer server = await ViewerServer.StartAsync(new ResultsFolderSource(slides.ResultsFolder, slides.SlidesFolder));
        SlidePage page = await SlidePage.OpenAsync(chromium.Browser, server.Address, slides.RunIdOf(slides.Aperio));
        SlideResultFile result = SlideResultReader.Read(Path.Combine(slides.ResultsFolder, Path.GetFileNameWithoutExtension(slides.Aperio) + ".json"));
        SlideCallFile threshold = result.Calls.Single(c => c.Method == "threshold");
        FocusArea focus = threshold.Focus!;
        ILocator row = page.Page.Locator("#calls tr[data-method='threshold']");
        Assert.Equal($"a focus of {focus.Patches} squamous patches Show", await row.Locator(".evidence").InnerTextAsync());
        SlideCallFile majority = result.Calls.Single(c => c.Method == "majority");
        Assert.Equal("share of patches " + majority.Scores["squamous"].ToString("0.000", CultureInfo.InvariantCulture), await page.Page.Locator("#calls tr[data-method='majority'] .evidence").InnerTextAsync());
        Assert.Equal(0, await page.Page.Locator("#calls tr[data-method='majority'] .show-focus").CountAsync());

        await page.GoToAsync(0, 0, 16);
        await row.Locator(".show-focus").ClickAsync();
        await page.Page.EvaluateAsync("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))");

        // The outline lies over the focus's cells, a cell being the plan's stride and a patch its window.
        double cell = result.Plan!.Stride * result.Plan.Downsample, side = result.Plan.Window * result.Plan.Downsample;
        (double left, double top) = await page.ScreenPointAsync(focus.Column * cell, focus.Row * cell);
        (double right, double bottom) = await page.ScreenPointAsync(((focus.Column + focus.Columns - 1) * cell) + side, ((focus.Row + focus.Rows - 1) * cell) + side);
        LocatorBoundingBoxResult outline = (await page.Page.Locator("#focus-outline").BoundingBoxAsync())!;
        Assert.Equal((left, top, right, bottom), (outline.X, outline.Y, outline.X + outline.Width, outline.Y + outline.Height), new PointComparer(1));

        // Zoomed in so the focus fills most of the viewer, with tissue around it, and its outline is drawn.
        LocatorBoundingBoxResult viewer = (await page.Page.Locator("#viewer").BoundingBoxAsync())!;
        double fill = Math.Max(outline.Width / viewer.Width, outline.Height / viewer.Height);
        Assert.InRange(fill, 0.4, 0.8);
        Assert.InRange(outline.X, viewer.X, viewer.X + viewer.Width - outline.Width);
        Assert.Equal(((byte)255, (byte)212, (byte)0), await page.PixelAsync(left - 1.5, (top + bottom) / 2, "slide-page-focus.png"));
        Assert.True(page.ConsoleErrors.Count == 0, string.Join("\n", page.ConsoleErrors));

        // A link with &focus=threshold opens there.
        SlidePage linked = await SlidePage.OpenAsync(chromium.Browser, server.Address, slides.RunIdOf(slides.Aperio), focus: "threshold");
        ILocator linkedOutline = linked.Page.Locator("#focus-outline");
        await linkedOutline.WaitForAsync();
        await linked.Page.EvaluateAsync("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))");
        LocatorBoundingBoxResult opened = (await linkedOutline.BoundingBoxAsync())!;
        Assert.Equal((outline.X, outline.Y, outline.Width, outline.Height), (opened.X, opened.Y, opened.Width, opened.Height), new PointComparer(1));
    }

    private sealed class PointComparer(double tolerance) : IEqualityComparer<(double, double, double, double)>
    {
        public bool Equals((double, double, double, double) a, (double, double, double, double) b) =>
            Math.Abs(a.Item1 - b.Item1) <= tolerance && Math.Abs(a.Item2 - b.Item2) <= tolerance && Math.Abs(a.Item3 - b.Item3) <= tolerance && Math.Abs(a.Item4 - b.Item4) <= tolerance;

        public int GetHashCode((double, double, double, double) obj) => 0;
    }

    /// <summary>A patch inside the slide's squamous region, and its Parquet row.</summary>
    private async Task<(long X, long Y, float[] Probabilities)> TumourPatchAsync(string slidePath)
    {
        string name = Path.GetFileNameWithoutExtension(slidePath);
        (long[] xs, long[] ys, _, float[][] columns) = await PatchParquet.ReadAsync(Path.Combine(slides.ResultsFolder, "patches", name + ".parquet"), ViewerSlides.Classes);
        for (int i = 0; i < xs.Length; i++)
        {
            bool inside = true;
            for (int dy = 16; dy <= 208 && inside; dy += 96)
            {
                for (int dx = 16; dx <= 208 && inside; dx += 96)
                {
                    long px = xs[i] + dx, py = ys[i] + dy;
                    inside = px >= 0 && py >= 0 && px < slides.Spec.Width && py < slides.Spec.Height && slides.Slide.IsTissue(px, py) && slides.Slide.ClassAt(px, py) == "squamous";
                }
            }

            if (inside)
            {
                return (xs[i], ys[i], ViewerSlides.Classes.Select((_, c) => columns[c][i]).ToArray());
            }
        }

        throw new InvalidOperationException("the test slide has no patch inside a squamous region.");
    }
}
