using DeepSlide.Aggregation;
using DeepSlide.Pipeline.Cosmos;
using Microsoft.Azure.Cosmos;

namespace DeepSlide.Pipeline.Tests;

/// <summary>The results store on a real cosmosdb-server.</summary>
public sealed class SlideRunStoreTests(CosmosServerFixture cosmos) : IClassFixture<CosmosServerFixture>
{
    private async Task<CosmosSlideRunStore> Store()
    {
        var client = new CosmosClient(cosmos.Endpoint, CosmosServerFixture.Key, CosmosSlideRunStore.ClientOptions(acceptLoopbackCertificate: true));
        return await CosmosSlideRunStore.CreateAsync(client, "deepslide", $"runs-{Guid.NewGuid():N}"[..16]);
    }

    private static SlideRun Run(string slideBlob, string id, int minutes) => new()
    {
        Id = id,
        SlideId = SlideRun.SlideIdOf(slideBlob),
        SlideBlob = slideBlob,
        SlideETag = "\"0x8DC1\"",
        ModelPrefix = "models/v1",
        CreatedUtc = new DateTimeOffset(2026, 11, 25, 12, minutes, 0, TimeSpan.Zero),
        UpdatedUtc = new DateTimeOffset(2026, 11, 25, 12, minutes, 0, TimeSpan.Zero),
    };

    [Fact]
    public async Task A_run_round_trips_and_its_status_and_results_update_in_place()
    {
        CosmosSlideRunStore store = await Store();
        SlideRun run = Run("lab-a/case 1.svs", "run-1", 0);
        Assert.Equal("lab-a_case 1.svs", run.SlideId);
        await store.UpsertAsync(run);
        Assert.Equal(RunStatus.Planning, (await store.GetAsync(run.SlideId, "run-1"))!.Status);

        SlideRun done = run with
        {
            Status = RunStatus.Completed,
            RangesDone = 3,
            RangesTotal = 3,
            Calls =
            [
                new StoredCall("majority", "squamous", new Dictionary<string, double> { ["benign"] = 0.1, ["squamous"] = 0.9 }, null),
                new StoredCall("threshold", "squamous", new Dictionary<string, double> { ["benign"] = 0.9, ["squamous"] = 0.05 }, "a focus of 2 squamous patches") { Focus = new FocusArea(2, 14, 3, 2, 1) { Class = "squamous" } },
            ],
            PatchOutputs = ["runs/run-1/ranges/00000.parquet"],
        };
        await store.UpsertAsync(done);
        SlideRun read = (await store.GetAsync(run.SlideId, "run-1"))!;
        Assert.Equal((RunStatus.Completed, 3, 3), (read.Status, read.RangesDone, read.RangesTotal));
        Assert.Equal(["squamous", "squamous"], read.Calls.Select(c => c.Label));
        Assert.Equal(0.9, read.Calls[0].Scores["squamous"]);
        Assert.Equal((null, new FocusArea(2, 14, 3, 2, 1) { Class = "squamous" }), (read.Calls[0].Focus, read.Calls[1].Focus));
        Assert.Equal(done.PatchOutputs, read.PatchOutputs);
        Assert.Equal(done.CreatedUtc, read.CreatedUtc);
    }

    [Fact]
    public async Task A_late_repeat_of_an_earlier_write_does_not_replace_a_later_one()
    {
        CosmosSlideRunStore store = await Store();
        SlideRun running = Run("s3.svs", "run-3", 0) with { Status = RunStatus.Running, Revision = 2 };
        SlideRun completed = running with { Status = RunStatus.Completed, Revision = 4 };
        await store.UpsertAsync(running);
        await store.UpsertAsync(completed);
        await store.UpsertAsync(running);
        Assert.Equal((RunStatus.Completed, 4), ((await store.GetAsync("s3.svs", "run-3"))!.Status, (await store.GetAsync("s3.svs", "run-3"))!.Revision));
    }

    [Fact]
    public async Task Of_racing_writes_of_different_revisions_the_highest_is_left()
    {
        CosmosSlideRunStore store = await Store();
        for (int round = 0; round < 10; round++)
        {
            SlideRun run = Run("race.svs", $"run-race-{round}", 0);
            int[] revisions = [.. Enumerable.Range(1, 8).OrderBy(_ => Random.Shared.Next())];
            await Task.WhenAll(revisions.Select(r => Task.Run(() => store.UpsertAsync(run with { Revision = r, RangesDone = r }))));
            SlideRun stored = (await store.GetAsync("race.svs", run.Id))!;
            Assert.Equal((8, 8), (stored.Revision, stored.RangesDone));
        }
    }

    [Fact]
    public async Task Writes_after_the_start_claim_read_the_stored_version_by_id_and_a_deleted_document_is_written_again()
    {
        var requests = new RequestLog();
        CosmosClientOptions options = CosmosSlideRunStore.ClientOptions(acceptLoopbackCertificate: true);
        options.HttpClientFactory = () => new HttpClient(new CountingHandler(requests) { InnerHandler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (r, _, _, _) => r.RequestUri is { IsLoopback: true } } });
        CosmosSlideRunStore store = await CosmosSlideRunStore.CreateAsync(new CosmosClient(cosmos.Endpoint, CosmosServerFixture.Key, options), "deepslide", $"runs-{Guid.NewGuid():N}"[..16]);

        SlideRun claim = Run("points.svs", "run-points", 0);
        Assert.True(await store.TryCreateAsync(claim));
        requests.Clear();
        for (int revision = 1; revision <= 3; revision++)
        {
            await store.UpsertAsync(claim with { Status = RunStatus.Running, Revision = revision, RangesDone = revision });
        }

        Assert.Equal((0, 3), (requests.Queries, requests.PointReads));
        Assert.Equal(3, (await store.GetAsync("points.svs", "run-points"))!.RangesDone);

        Assert.True(await store.DeleteAsync(claim));
        await store.UpsertAsync(claim with { Status = RunStatus.Completed, Revision = 4 });
        Assert.Equal((RunStatus.Completed, 4), ((await store.GetAsync("points.svs", "run-points"))!.Status, (await store.GetAsync("points.svs", "run-points"))!.Revision));
    }

    private sealed class RequestLog
    {
        private int _queries, _pointReads;

        public int Queries => _queries;

        public int PointReads => _pointReads;

        public void Clear() => (_queries, _pointReads) = (0, 0);

        public void Add(HttpRequestMessage request)
        {
            if (request.Headers.TryGetValues("x-ms-documentdb-isquery", out IEnumerable<string>? query) && query.Any(v => v.Equals("true", StringComparison.OrdinalIgnoreCase)))
            {
                Interlocked.Increment(ref _queries);
            }
            else if (request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.Contains("/docs/", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _pointReads);
            }
        }
    }

    private sealed class CountingHandler(RequestLog log) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            log.Add(request);
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task Creating_a_run_that_exists_is_refused_and_leaves_it_as_it_was()
    {
        CosmosSlideRunStore store = await Store();
        SlideRun first = Run("s4.svs", "run-4", 0);
        Assert.True(await store.TryCreateAsync(first));
        Assert.False(await store.TryCreateAsync(first with { Status = RunStatus.Failed }));
        Assert.Equal(RunStatus.Planning, (await store.GetAsync("s4.svs", "run-4"))!.Status);
    }

    [Fact]
    public async Task A_slides_runs_are_listed_newest_first_and_only_its_own()
    {
        CosmosSlideRunStore store = await Store();
        await store.UpsertAsync(Run("s1.svs", "old", 1));
        await store.UpsertAsync(Run("s1.svs", "new", 5));
        await store.UpsertAsync(Run("s2.svs", "other", 3));
        Assert.Equal(["new", "old"], (await store.ListAsync("s1.svs")).Select(r => r.Id));
        Assert.Null(await store.GetAsync("s1.svs", "missing"));
        Assert.Empty(await store.ListAsync("nobody.svs"));
    }
}
