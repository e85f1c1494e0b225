using System.Net;
using System.Text.Json;
using DeepSlide.Functions;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Local;
using DeepSlide.Pipeline.Storage;

namespace DeepSlide.Functions.Tests;

/// <summary>
/// The HTTP API's functions called as the host would call them, on real Azurite and cosmosdb-server, with the local
/// durable host's client standing in for the Functions durable client binding.
/// </summary>
public sealed class RunsApiTests : IAsyncLifetime
{
    private Azurite? _azurite;
    private CosmosServer? _cosmos;
    private LocalDurableHost? _host;
    private PipelineStores? _stores;
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("deepslide-api-");

    private LocalDurableHost Host => _host!;

    private RunsApi Api => new(Host.Runs, _stores!, new SlideRunRequest(string.Empty, string.Empty, string.Empty), new ModelChoice("m1"));

    public async Task InitializeAsync()
    {
        _azurite = await Azurite.StartAsync();
        _cosmos = await CosmosServer.StartAsync();
        _host = await LocalDurableHost.StartAsync(new LocalPipelineOptions
        {
            StorageConnection = _azurite.ConnectionString,
            CosmosEndpoint = _cosmos.Endpoint,
            WatchSlides = false,
            PollInterval = TimeSpan.FromMilliseconds(500),
            ScratchFolder = _scratch.FullName,
        });
        _stores = await new StorageAccount(_azurite.ConnectionString).StoresAsync();
        await using (var slide = new MemoryStream([1, 2, 3]))
        {
            await _stores.Slides.UploadAsync("lab-a/case 7.svs", slide);
        }

        foreach (string model in new[] { "m1", "v2" })
        {
            await using var manifest = new MemoryStream("{}"u8.ToArray());
            await _stores.Models.UploadAsync($"{model}/manifest.json", manifest);
        }
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_cosmos is not null)
        {
            await _cosmos.DisposeAsync();
        }

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        _scratch.Delete(recursive: true);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body, FakeResponse Response)> CallAsync(Func<FakeContext, Task<Microsoft.Azure.Functions.Worker.Http.HttpResponseData>> call)
    {
        var response = (FakeResponse)await call(new FakeContext());
        return (response.StatusCode, JsonDocument.Parse(response.Text).RootElement.Clone(), response);
    }

    [Fact]
    public async Task Only_callers_with_an_app_role_get_in_and_reading_needs_less_than_rerunning()
    {
        const string body = """{"slide": "lab-a/case 7.svs"}""";
        (HttpStatusCode anonymous, JsonElement why, _) = await CallAsync(c => Api.RerunAsync(new FakeRequest(c, "POST", body, roles: []), Host.Client, c));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous);
        Assert.Contains("no authenticated caller", why.GetProperty("detail").GetString());

        (HttpStatusCode reader, why, _) = await CallAsync(c => Api.RerunAsync(new FakeRequest(c, "POST", body, CallerRoles.Read), Host.Client, c));
        Assert.Equal(HttpStatusCode.Forbidden, reader);
        Assert.Contains("Runs.ReadWrite", why.GetProperty("detail").GetString());

        (HttpStatusCode other, _, _) = await CallAsync(c => Api.ListAsync(new FakeRequest(c, "GET", null, "Slides.Admin"), "lab-a_case 7.svs", c));
        Assert.Equal(HttpStatusCode.Forbidden, other);
        (HttpStatusCode listed, _, _) = await CallAsync(c => Api.ListAsync(new FakeRequest(c, "GET", null, CallerRoles.Read), "lab-a_case 7.svs", c));
        Assert.Equal(HttpStatusCode.OK, listed);
        (HttpStatusCode forged, _, _) = await CallAsync(c =>
        {
            var request = new FakeRequest(c, "GET", null, roles: []);
            request.Headers.Add(CallerRoles.Header, "not base64 !");
            return Api.GetAsync(request, "lab-a_case 7.svs", "r1", Host.Client, c);
        });
        Assert.Equal(HttpStatusCode.Unauthorized, forged);
    }

    [Theory]
    [InlineData("{not json", HttpStatusCode.BadRequest, "not a re-run request")]
    [InlineData("""{"slide": "lab-a/../case 7.svs"}""", HttpStatusCode.BadRequest, "'.' or '..' path segment")]
    [InlineData("""{"slide": "lab-a/\u0007.svs"}""", HttpStatusCode.BadRequest, "control character (U+0007")]
    [InlineData("""{"slide": "lab-a/missing.svs"}""", HttpStatusCode.NotFound, "slide 'lab-a/missing.svs' is not in the slides container")]
    [InlineData("""{"slide": "lab-a/case 7.svs", "model": "v9"}""", HttpStatusCode.NotFound, "no model bundle is stored under 'v9'")]
    public async Task A_rerun_that_cannot_start_is_refused_with_the_reason(string body, HttpStatusCode status, string detail)
    {
        (HttpStatusCode actual, JsonElement problem, _) = await CallAsync(c => Api.RerunAsync(new FakeRequest(c, "POST", body), Host.Client, c));
        Assert.Equal(status, actual);
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_rerun_retried_with_the_same_idempotency_key_is_the_same_run()
    {
        FakeRequest Keyed(FakeContext c, string key)
        {
            var request = new FakeRequest(c, "POST", """{"slide": "lab-a/case 7.svs", "model": "v2"}""");
            request.Headers.Add(RunsApi.IdempotencyKeyHeader, key);
            return request;
        }

        (HttpStatusCode first, JsonElement a, _) = await CallAsync(c => Api.RerunAsync(Keyed(c, "lims-7f3a"), Host.Client, c));
        (HttpStatusCode retried, JsonElement b, _) = await CallAsync(c => Api.RerunAsync(Keyed(c, "lims-7f3a"), Host.Client, c));
        (_, JsonElement other, _) = await CallAsync(c => Api.RerunAsync(Keyed(c, "lims-9c01"), Host.Client, c));
        Assert.Equal((HttpStatusCode.Accepted, HttpStatusCode.Accepted), (first, retried));
        Assert.Equal(a.GetProperty("runId").GetString(), b.GetProperty("runId").GetString());
        Assert.NotEqual(a.GetProperty("runId").GetString(), other.GetProperty("runId").GetString());

        (HttpStatusCode bad, _, _) = await CallAsync(c => Api.RerunAsync(Keyed(c, new string('k', 201)), Host.Client, c));
        Assert.Equal(HttpStatusCode.BadRequest, bad);
    }

    [Fact]
    public async Task Reruns_start_new_runs_that_the_API_lists_and_returns_with_live_progress()
    {
        (HttpStatusCode status, JsonElement first, FakeResponse response) = await CallAsync(c => Api.RerunAsync(new FakeRequest(c, "POST", """{"slide": "lab-a/case 7.svs"}"""), Host.Client, c));
        Assert.Equal(HttpStatusCode.Accepted, status);
        string runId = first.GetProperty("runId").GetString()!;
        Assert.Equal("lab-a_case 7.svs", first.GetProperty("slideId").GetString());
        Assert.Equal($"/api/runs/lab-a_case%207.svs/{runId}", response.Headers.GetValues("Location").Single());

        (_, JsonElement second, _) = await CallAsync(c => Api.RerunAsync(new FakeRequest(c, "POST", """{"slide": "lab-a/case 7.svs", "model": "v2"}"""), Host.Client, c));
        string secondId = second.GetProperty("runId").GetString()!;
        Assert.NotEqual(runId, secondId);
        Assert.NotNull(await Host.Client.GetInstanceAsync(runId));

        // The orchestration records the run as it starts; no worker runs here, so it stays in Planning.
        JsonElement runs = default;
        for (DateTime deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(250))
        {
            (_, runs, _) = await CallAsync(c => Api.ListAsync(new FakeRequest(c, "GET"), "lab-a_case 7.svs", c));
            if (runs.GetArrayLength() == 2)
            {
                break;
            }
        }

        Assert.Equal(new[] { runId, secondId }.Order(), runs.EnumerateArray().Select(r => r.GetProperty("id").GetString()).Order());
        Assert.Equal("v2", runs.EnumerateArray().Single(r => r.GetProperty("id").GetString() == secondId).GetProperty("modelPrefix").GetString());

        (HttpStatusCode found, JsonElement one, _) = await CallAsync(c => Api.GetAsync(new FakeRequest(c, "GET"), "lab-a_case 7.svs", runId, Host.Client, c));
        Assert.Equal(HttpStatusCode.OK, found);
        Assert.Equal(RunStatus.Planning, one.GetProperty("run").GetProperty("status").GetString());
        Assert.Contains(RunStatus.Planning, one.GetProperty("progress").GetString());

        (HttpStatusCode missing, JsonElement problem, _) = await CallAsync(c => Api.GetAsync(new FakeRequest(c, "GET"), "lab-a_case 7.svs", "run-nope", Host.Client, c));
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Contains("has no run 'run-nope'", problem.GetProperty("detail").GetString());
    }
}
