using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using DeepSlide.Pipeline;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.FileProviders;

namespace DeepSlide.Viewer;

/// <summary>How a host serves the viewer.</summary>
public sealed record ViewerOptions
{
    /// <summary>
    /// App roles any one of which admits a caller (checked on the principal Container Apps authentication hands the
    /// app); empty for the CLI and the local stack, which listen on loopback only.
    /// </summary>
    public IReadOnlyList<string> RequiredRoles { get; init; } = [];

    /// <summary>The page's files: the <c>viewer</c> folder every referencing host gets in its output.</summary>
    public string StaticFolder { get; init; } = Path.Combine(AppContext.BaseDirectory, "viewer");

    public int JpegQuality { get; init; } = 85;

    /// <summary>Encoded tiles kept in memory, in bytes.</summary>
    public long TileCacheBytes { get; init; } = 128L << 20;
}

/// <summary>
/// The viewer's HTTP surface: the runs and slide pages (static files), the runs API, Deep Zoom descriptors and tiles
/// (<c>/api/runs/{run}/slide.dzi</c>, <c>/api/runs/{run}/slide_files/{level}/{col}_{row}.jpeg</c>, OpenSeadragon's
/// layout), layer pictures, a patch under a point, and the run's result files. Every route takes a run id and an
/// address, never a path: an unknown run, level or address is a 404.
/// </summary>
public static partial class ViewerEndpoints
{
    // Policy for every response: no inline script, nothing from another origin, never framed. The one inline style
    // allowed is OpenSeadragon's own (the rule it injects for touch screens), by its hash.
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-9xTiqzfwFaL2SGb1rmr8gysEwVVjIvqWAgmZgqFqpEE='; " +
        "img-src 'self' data: blob:; connect-src 'self'; " +
        "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The one path answered without the role, for the platform's probes.</summary>
    public const string HealthPath = "/health";

    public static void UseViewer(this WebApplication app, IViewerSource source, ViewerOptions? options = null)
    {
        options ??= new ViewerOptions();
        var state = new ViewerState(source, options);
        app.Use(async (context, next) =>
        {
            IHeaderDictionary headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.XFrameOptions = "DENY";
            if (options.RequiredRoles.Count > 0 && context.Request.Path != HealthPath
                && CallerPrincipal.Refusal(context.Request.Headers[CallerPrincipal.Header].FirstOrDefault(), [.. options.RequiredRoles]) is { } refusal)
            {
                context.Response.StatusCode = refusal.Status;
                await context.Response.WriteAsJsonAsync(new { title = refusal.Status == 401 ? "Unauthorized" : "Forbidden", status = refusal.Status, detail = refusal.Detail });
                return;
            }

            await next(context);
        });

        if (Directory.Exists(options.StaticFolder))
        {
            var files = new PhysicalFileProvider(options.StaticFolder);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        }

        app.MapGet(HealthPath, () => TypedResults.Text("ok"));
        RouteGroupBuilder runs = app.MapGroup("/api/runs");
        runs.MapGet("/", state.ListAsync);
        runs.MapGet("/{runId}", state.GetAsync);
        runs.MapGet("/{runId}/slide.dzi", state.DescriptorAsync);
        runs.MapGet("/{runId}/slide_files/{level}/{address}", state.TileAsync);
        runs.MapGet("/{runId}/layers/{layer}", state.LayerAsync);
        runs.MapGet("/{runId}/patch", state.PatchAsync);
        runs.MapGet("/{runId}/files/{kind}", state.FileAsync);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,128}$")]
    private static partial Regex RunIdPattern();

    [GeneratedRegex("^([0-9]{1,7})_([0-9]{1,7})\\.jpeg$")]
    private static partial Regex TileAddressPattern();

    [GeneratedRegex("^([a-z]+(-[0-9]{1,3})?)\\.png$")]
    private static partial Regex LayerPattern();

    private static IResult NotFound(string detail) => TypedResults.Problem(detail, statusCode: 404, title: "Not Found");

    private sealed class ViewerState(IViewerSource source, ViewerOptions options)
    {
        private readonly ConcurrentDictionary<string, DeepZoomGrid> _grids = new();
        private readonly MemoryCache _tiles = new(new MemoryCacheOptions { SizeLimit = options.TileCacheBytes });

        public async Task<IResult> ListAsync(string? status, string? q, CancellationToken cancellationToken)
        {
            IEnumerable<RunSummary> list = await source.ListRunsAsync(cancellationToken);
            if (!string.IsNullOrWhiteSpace(status))
            {
                list = list.Where(r => string.Equals(r.Status, status, StringComparison.OrdinalIgnoreCase));
            }

            if (!string.IsNullOrWhiteSpace(q))
            {
                list = list.Where(r => r.Slide.Contains(q.Trim(), StringComparison.OrdinalIgnoreCase));
            }

            return TypedResults.Ok(list.ToList());
        }

        public async Task<IResult> GetAsync(string runId, CancellationToken cancellationToken)
        {
            if (!RunIdPattern().IsMatch(runId) || await source.GetRunAsync(runId, cancellationToken) is not { } run)
            {
                return NotFound($"no run '{runId}'.");
            }

            RunResults? results = await source.GetResultsAsync(runId, cancellationToken);
            var files = new List<string>();
            foreach (string kind in ResultFileKinds.All)
            {
                if (await source.OpenFileAsync(runId, kind, cancellationToken) is not null)
                {
                    files.Add(kind);
                }
            }

            return TypedResults.Ok(new
            {
                run,
                results = results is null ? null : new
                {
                    classes = results.Classes,
                    colours = results.Colours.Select(c => $"#{c.R:x2}{c.G:x2}{c.B:x2}"),
                    layers = results.Layers(),
                    cellSide = results.CellSide,
                    patchSide = results.PatchSide,
                    patches = results.Count,
                },
                files,
            });
        }

        public Task<IResult> DescriptorAsync(string runId, CancellationToken cancellationToken) =>
            WithSlideAsync(runId, (_, grid) => Task.FromResult<IResult>(TypedResults.Text(grid.Descriptor(), "application/xml")), cancellationToken);

        public Task<IResult> TileAsync(string runId, string level, string address, CancellationToken cancellationToken)
        {
            Match match = TileAddressPattern().Match(address);
            if (!match.Success || !int.TryParse(level, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int z) || level.Length > 3)
            {
                return Task.FromResult(NotFound($"no tile '{level}/{address}'."));
            }

            int column = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            int row = int.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            string key = $"{runId}/{z}/{column}_{row}";
            if (_tiles.TryGetValue(key, out byte[]? cached) && cached is not null)
            {
                return Task.FromResult(Jpeg(cached));
            }

            return WithSlideAsync(
                runId,
                async (slide, grid) =>
                {
                    if (!grid.Contains(z, column, row))
                    {
                        return NotFound($"the slide has no tile {z}/{column}_{row}.");
                    }

                    DeepZoomRead read = grid.Read(z, column, row);
                    await slide.EnsureAsync(read, cancellationToken);
                    var tile = grid.ReadTile(slide.Reader, z, column, row);
                    byte[] jpeg = ImageFiles.Encode(tile.Pixels, tile.Width, tile.Height, jpeg: true, options.JpegQuality);
                    _tiles.Set(key, jpeg, new MemoryCacheEntryOptions { Size = jpeg.Length });
                    return Jpeg(jpeg);
                },
                cancellationToken);
        }

        public async Task<IResult> LayerAsync(string runId, string layer, HttpContext context, CancellationToken cancellationToken)
        {
            Match match = LayerPattern().Match(layer);
            if (!RunIdPattern().IsMatch(runId) || !match.Success || await source.GetResultsAsync(runId, cancellationToken) is not { } results
                || results.Layer(match.Groups[1].Value) is not { } picture)
            {
                return NotFound($"run '{runId}' has no layer '{layer}'.");
            }

            context.Response.Headers["X-Width-Level0"] = picture.WidthAtLevel0.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.File(picture.Png, "image/png");
        }

        public async Task<IResult> PatchAsync(string runId, double? x, double? y, CancellationToken cancellationToken)
        {
            if (!RunIdPattern().IsMatch(runId) || await source.GetResultsAsync(runId, cancellationToken) is not { } results)
            {
                return NotFound($"run '{runId}' has no patch results.");
            }

            if (x is not { } px || y is not { } py || !double.IsFinite(px) || !double.IsFinite(py))
            {
                return TypedResults.Problem("give the point as x and y, level-0 pixels.", statusCode: 400, title: "Bad Request");
            }

            return results.PatchAt(px, py) is { } patch ? TypedResults.Ok(patch) : NotFound($"no patch was classified at ({px:0}, {py:0}).");
        }

        public async Task<IResult> FileAsync(string runId, string kind, HttpContext context, CancellationToken cancellationToken)
        {
            if (!RunIdPattern().IsMatch(runId) || !ResultFileKinds.All.Contains(kind) || await source.OpenFileAsync(runId, kind, cancellationToken) is not { } file)
            {
                return NotFound($"run '{runId}' has no '{kind}' file.");
            }

            Stream stream = await file.OpenAsync(cancellationToken);
            return TypedResults.Stream(stream, file.ContentType, file.FileName);
        }

        private static IResult Jpeg(byte[] jpeg)
        {
            return TypedResults.Bytes(jpeg, "image/jpeg");
        }

        private async Task<IResult> WithSlideAsync(string runId, Func<ViewerSlide, DeepZoomGrid, Task<IResult>> use, CancellationToken cancellationToken)
        {
            if (!RunIdPattern().IsMatch(runId))
            {
                return NotFound($"no run '{runId}'.");
            }

            try
            {
                using ViewerSlide? slide = await source.OpenSlideAsync(runId, cancellationToken);
                if (slide is null)
                {
                    return NotFound($"no run '{runId}'.");
                }

                try
                {
                    DeepZoomGrid grid = _grids.GetOrAdd(runId, _ => new DeepZoomGrid(slide.Reader.Info.Levels));
                    return await use(slide, grid);
                }
                catch (DeepSlideException)
                {
                    slide.Discard();
                    throw;
                }
            }
            catch (DeepSlideException ex)
            {
                int status = ex.Reason switch
                {
                    DeepSlideErrorReason.FileNotFound => 404,
                    DeepSlideErrorReason.InvalidArgument => 409,
                    _ => 422,
                };
                return TypedResults.Problem(ex.Message, statusCode: status, title: status == 409 ? "The slide changed" : "The slide cannot be read");
            }
        }
    }
}
