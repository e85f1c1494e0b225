using System.Net;
using System.Text;
using System.Text.Json;
using DeepSlide.Pipeline;

namespace DeepSlide.Viewer.Tests;

/// <summary>
/// The viewer's endpoints take a run id and an address, never a path; the role gate answers 401 and 403 the way the
/// runs API does; every response carries the Content-Security-Policy; a damaged or replaced slide gets a clear answer.
/// </summary>
public sealed class ViewerSecurityTests(ViewerSlides slides) : IClassFixture<ViewerSlides>
{
    [Theory]
    [InlineData("api/runs/..%2F..%2Fetc%2Fpasswd/slide.dzi")]
    [InlineData("api/runs/%2E%2E/slide.dzi")]
    [InlineData("api/runs/..%2Fslides/files/json")]
    [InlineData("api/runs/RUN/files/..%2F..%2Fslides.csv")]
    [InlineData("api/runs/RUN/files/%2E%2E%2Fplans")]
    [InlineData("api/runs/RUN/slide_files/..%2F0/0_0.jpeg")]
    [InlineData("api/runs/RUN/slide_files/0/..%2F..%2F0_0.jpeg")]
    [InlineData("api/runs/RUN/slide_files/99/0_0.jpeg")]
    [InlineData("api/runs/RUN/slide_files/13/9999_0.jpeg")]
    [InlineData("api/runs/RUN/slide_files/13/-1_0.jpeg")]
    [InlineData("api/runs/RUN/layers/..%2F..%2Fsecret.png")]
    [InlineData("api/runs/RUN/layers/heatmap-7.png")]
    [InlineData("api/runs/generic/slide.dzi")]
    [InlineData("api/runs/generic.tif/slide.dzi")]
    [InlineData("api/runs/slide-000000000000000000000000/slide.dzi")]
    [InlineData("api/runs/slide-000000000000000000000000/files/json")]
    [InlineData("api/runs/slide-000000000000000000000000/patch?x=1000&y=1000")]
    [InlineData("slides/generic.tif")]
    [InlineData("..%2Fslides%2Fgeneric.tif")]
    [InlineData("viewer/../../results/generic.json")]
    public async Task Paths_other_runs_and_slides_without_a_run_are_not_found(string path)
    {
        await using ViewerServer server = await ViewerServer.StartAsync(new ResultsFolderSource(slides.ResultsFolder, slides.SlidesFolder));
        using var http = new HttpClient { BaseAddress = server.Address };
        using HttpResponseMessage response = await http.GetAsync(path.Replace("RUN", slides.RunIdOf(slides.GenericTiff)));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        string body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("ImageDescription", body);
        Assert.DoesNotContain("root:", body);
    }

    [Fact]
    public async Task A_run_serves_only_its_own_files()
    {
        await using ViewerServer server = await ViewerServer.StartAsync(new ResultsFolderSource(slides.ResultsFolder, slides.SlidesFolder));
        using var http = new HttpClient { BaseAddress = server.Address };
        using JsonDocument json = JsonDocument.Parse(await http.GetStringAsync($"api/runs/{slides.RunIdOf(slides.GenericTiff)}/files/json"));
        Assert.Equal("generic", json.RootElement.GetProperty("slide").GetString());
        using JsonDocument other = JsonDocument.Parse(await http.GetStringAsync($"api/runs/{slides.RunIdOf(slides.Aperio)}/files/json"));
        Assert.Equal("case <b>\"7\"", other.RootElement.GetProperty("slide").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/runs/{slides.RunIdOf(slides.GenericTiff)}/files/plans")).StatusCode);
    }

    [Fact]
    public async Task Without_the_role_the_viewer_and_its_endpoints_answer_401_or_403()
    {
        var options = new ViewerOptions { RequiredRoles = [CallerPrincipal.Read, CallerPrincipal.ReadWrite] };
        await using ViewerServer server = await ViewerServer.StartAsync(new ResultsFolderSource(slides.ResultsFolder, slides.SlidesFolder), options: options);
        string run = slides.RunIdOf(slides.GenericTiff);
        (long x, long y) = slides.FirstPatch(slides.GenericTiff);
        string[] paths = ["", "index.html", "slide.html", "vendor/openseadragon/openseadragon.min.js", "api/runs/", $"api/runs/{run}", $"api/runs/{run}/slide.dzi", $"api/runs/{run}/slide_files/13/0_0.jpeg", $"api/runs/{run}/layers/classes.png", $"api/runs/{run}/patch?x={x + 10}&y={y + 10}", $"api/runs/{run}/files/parquet"];
        foreach (string path in paths)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(server, path, principal: null));
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(server, path, principal: "not base64 !"));
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(server, path, Principal("Runs.Write", "Admin")));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, path, Principal(CallerPrincipal.Read)));
        }

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, "health", principal: null));
    }

    [Fact]
    public async Task Every_response_carries_a_policy_that_blocks_inline_script()
    {
        await using ViewerServer server = await ViewerServer.StartAsync(new ResultsFolderSource(slides.ResultsFolder, slides.SlidesFolder));
        using var http = new HttpClient { BaseAddress = server.Address };
        string run = slides.RunIdOf(slides.Aperio);
        foreach (string path in new[] { "", "slide.html", "api/runs/", $"api/runs/{run}/slide_files/13/0_0.jpeg", "api/runs/nope/slide.dzi" })
        {
            using HttpResponseMessage response = await http.GetAsync(path);
            string policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("script-src 'self'", policy);
            Assert.DoesNotContain("unsafe-inline", policy);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [Fact]
    public async Task A_damaged_slide_gets_a_clear_error_and_a_replaced_one_says_it_changed()
    {
        string folder = Directory.CreateTempSubdirectory("deepslide-viewer-bad-").FullName;
        try
        {
            string slidesFolder = Path.Combine(folder, "slides");
            Directory.CreateDirectory(slidesFolder);
            File.Copy(slides.GenericTiff, Path.Combine(slidesFolder, "generic.tif"));
            string damaged = Path.Combine(slidesFolder, "case <b>\"7\".svs");
            byte[] bytes = await File.ReadAllBytesAsync(slides.Aperio);

            // Garbage over the tile data past the first megabyte: the structure still reads, tiles there do not.
            new Random(7).NextBytes(bytes.AsSpan(1 << 20, Math.Min(4 << 20, bytes.Length - (1 << 20) - 4096)));
            await File.WriteAllBytesAsync(damaged, bytes);
            string results = Path.Combine(folder, "results");
            CopyFolder(slides.ResultsFolder, results);
            File.SetLastWriteTimeUtc(damaged, DateTime.UtcNow.AddDays(-1));
            File.SetLastWriteTimeUtc(Path.Combine(slidesFolder, "generic.tif"), DateTime.UtcNow.AddDays(1));

            await using ViewerServer server = await ViewerServer.StartAsync(new ResultsFolderSource(results, slidesFolder));
            using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(60) };
            var errors = new List<string>();
            for (int column = 0; column < 20; column++)
            {
                using HttpResponseMessage tile = await http.GetAsync($"api/runs/{slides.RunIdOf(slides.Aperio)}/slide_files/13/{column}_5.jpeg");
                if (tile.StatusCode != HttpStatusCode.OK)
                {
                    Assert.Equal(HttpStatusCode.UnprocessableEntity, tile.StatusCode);
                    errors.Add(await tile.Content.ReadAsStringAsync());
                }
            }

            Assert.NotEmpty(errors);
            Assert.All(errors, e => Assert.Contains("case <b>\\u00227\\u0022.svs", e.Replace("\\\"", "\\u0022")));

            using HttpResponseMessage changed = await http.GetAsync($"api/runs/{slides.RunIdOf(slides.GenericTiff)}/slide_files/13/0_0.jpeg");
            Assert.Equal(HttpStatusCode.Conflict, changed.StatusCode);
            Assert.Contains("changed after it was classified", await changed.Content.ReadAsStringAsync());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    internal static string Principal(params string[] roles)
    {
        string json = JsonSerializer.Serialize(new { auth_typ = "aad", role_typ = "roles", claims = roles.Select(r => new { typ = "roles", val = r }) });
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
    }

    private static async Task<HttpStatusCode> StatusAsync(ViewerServer server, string path, string? principal)
    {
        using var http = new HttpClient { BaseAddress = server.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (principal is not null)
        {
            request.Headers.Add(CallerPrincipal.Header, principal);
        }

        using HttpResponseMessage response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
