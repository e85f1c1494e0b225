using System.Globalization;
using System.Text.Json;
using DeepSlide.Imaging;
using DeepSlide.Slides;
using Microsoft.Playwright;

namespace DeepSlide.Viewer.Tests;

/// <summary>The slide page as a person uses it: open it, zoom, look at a pixel, click a patch.</summary>
public sealed class SlidePage(IPage page)
{
    private readonly List<int> _tileLevels = [];
    private readonly List<string> _consoleErrors = [];

    public IPage Page { get; } = page;

    /// <summary>The Deep Zoom levels whose tiles the page loaded.</summary>
    public IReadOnlyCollection<int> TileLevels
    {
        get
        {
            lock (_tileLevels)
            {
                return _tileLevels.Distinct().Order().ToList();
            }
        }
    }

    /// <summary>What the page logged as errors (a policy violation shows here).</summary>
    public IReadOnlyList<string> ConsoleErrors => _consoleErrors;

    /// <param name="focus">A method whose focus the page opens at (<c>&amp;focus=</c>).</param>
    public static async Task<SlidePage> OpenAsync(IBrowser browser, Uri address, string runId, IReadOnlyDictionary<string, string>? headers = null, string? focus = null)
    {
        IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 }, ExtraHTTPHeaders = headers });
        var slide = new SlidePage(page);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                slide._consoleErrors.Add($"{message.Text} at {message.Location}");
            }
        };
        page.Response += (_, response) =>
        {
            string path = new Uri(response.Url).AbsolutePath;
            int at = path.IndexOf("/slide_files/", StringComparison.Ordinal);
            if (at >= 0 && response.Status == 200)
            {
                lock (slide._tileLevels)
                {
                    slide._tileLevels.Add(int.Parse(path[(at + "/slide_files/".Length)..].Split('/')[0], CultureInfo.InvariantCulture));
                }
            }
        };
        string link = $"slide.html?run={Uri.EscapeDataString(runId)}" + (focus is null ? string.Empty : $"&focus={Uri.EscapeDataString(focus)}");
        await page.GotoAsync(new Uri(address, link).ToString());
        await page.WaitForFunctionAsync("() => window.deepslideViewer && window.deepslideViewer.world.getItemCount() > 0 && window.deepslideViewer.world.getItemAt(0).getFullyLoaded()");
        return slide;
    }

    /// <summary>Waits until a layer has been added over the slide.</summary>
    public Task WaitForLayerAsync(string layer) => Page.Locator($"#layers [data-layer='{layer}'][data-ready='true']").WaitForAsync();

    public async Task SetOpacityAsync(string layer, double opacity)
    {
        await Page.Locator($"#layers [data-layer='{layer}'] input.opacity").FillAsync(opacity.ToString(CultureInfo.InvariantCulture));
        await Page.Locator($"#layers [data-layer='{layer}'] input.opacity").DispatchEventAsync("input");
    }

    /// <summary>Centres a level-0 point at a zoom where one screen pixel is <paramref name="levelZeroPerPixel"/> level-0 pixels, and waits for every tile.</summary>
    public async Task GoToAsync(double x, double y, double levelZeroPerPixel)
    {
        await Page.EvaluateAsync(
            """
            ([x, y, scale]) => {
              const v = window.deepslideViewer;
              const slide = v.world.getItemAt(0);
              v.viewport.zoomTo(slide.imageToViewportZoom(1 / scale), null, true);
              v.viewport.panTo(slide.imageToViewportCoordinates(new OpenSeadragon.Point(x, y)), true);
              v.forceRedraw();
            }
            """,
            new object[] { x, y, levelZeroPerPixel });
        await Page.WaitForFunctionAsync("() => { const w = window.deepslideViewer.world; for (let i = 0; i < w.getItemCount(); i++) if (w.getItemAt(i).getOpacity() > 0 && !w.getItemAt(i).getFullyLoaded()) return false; return true; }");

        // Every tile is in; the next two frames have drawn them (OpenSeadragon draws on animation frames).
        await Page.EvaluateAsync("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))");
    }

    /// <summary>Where a level-0 point is on the page.</summary>
    public async Task<(double X, double Y)> ScreenPointAsync(double x, double y)
    {
        JsonElement point = await Page.EvaluateAsync<JsonElement>(
            """
            ([x, y]) => {
              const v = window.deepslideViewer;
              const p = v.world.getItemAt(0).imageToViewerElementCoordinates(new OpenSeadragon.Point(x, y));
              const box = v.element.getBoundingClientRect();
              return { x: p.x + box.left, y: p.y + box.top };
            }
            """,
            new object[] { x, y });
        return (point.GetProperty("x").GetDouble(), point.GetProperty("y").GetDouble());
    }

    /// <summary>The colour on screen at a page point, read from a screenshot.</summary>
    public async Task<(byte R, byte G, byte B)> PixelAsync(double x, double y, string? savedAs = null)
    {
        string file = Path.Combine(Chromium.Screenshots, savedAs ?? $"pixel-{Guid.NewGuid():N}.png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = file });
        RgbImage image = ImageFiles.Load(file);
        return image[(int)Math.Round(x), (int)Math.Round(y)];
    }

    /// <summary>
    /// Clicks a page point and reads the patch panel: the patch's corner and each class's probability as stored,
    /// checking that the text shown is that probability to three decimals.
    /// </summary>
    public async Task<(long X, long Y, IReadOnlyDictionary<string, float> Probabilities)> ClickPatchAsync(double x, double y)
    {
        await Page.Mouse.ClickAsync((float)x, (float)y);
        await Page.Locator("#patch .patch-call").WaitForAsync();
        var probabilities = new Dictionary<string, float>();
        foreach (ILocator row in await Page.Locator("#patch tr").AllAsync())
        {
            string name = (await row.GetAttributeAsync("data-class"))!;
            ILocator cell = row.Locator(".probability");
            string stored = (await cell.GetAttributeAsync("data-value"))!;
            Assert.Equal(double.Parse(stored, CultureInfo.InvariantCulture).ToString("0.000", CultureInfo.InvariantCulture), await cell.InnerTextAsync());
            Assert.Equal(stored, await cell.GetAttributeAsync("title"));
            probabilities[name] = float.Parse(stored, CultureInfo.InvariantCulture);
        }

        ILocator panel = Page.Locator("#patch");
        return (long.Parse((await panel.GetAttributeAsync("data-x"))!, CultureInfo.InvariantCulture), long.Parse((await panel.GetAttributeAsync("data-y"))!, CultureInfo.InvariantCulture), probabilities);
    }
}
