using System.Collections.Concurrent;
using System.Threading.Channels;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline.Local;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;

namespace DeepSlide.Pipeline.Tests;

/// <summary>
/// The slide-run orchestration on the Durable Task in-process test host, with no emulator: the test is every worker,
/// reading the dispatched work and raising the notices workers would send, in the order and number it chooses.
/// </summary>
public sealed class OrchestratorTests : IAsyncLifetime
{
    private readonly Runs _runs = new();
    private readonly SentWork _sent = new();
    private DurableTaskTestHost _host = null!;

    private DurableTaskClient Client => _host.Client;

    // The test host guesses a port at random unless given one, and lost the guess to another test's server in a full
    // run ("address already in use"): it is given a port the system has just handed out, and another if that one
    // is taken before the host binds it.
    public async Task InitializeAsync()
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                _host = await DurableTaskTestHost.StartAsync(
                    registry => registry
                        .AddOrchestrator<SlideRunOrchestrator>()
                        .AddActivity(RecordRunActivity.Name, new RecordRunActivity(_runs))
                        .AddActivity(DispatchActivity.Name, new DispatchActivity(_sent)),
                    new DurableTaskTestHostOptions { Port = LocalServer.FreePort() });
                return;
            }
            catch (IOException ex) when (attempt < 3 && ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
            }
        }
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<string> StartAsync(int maxRedispatches = 2, int tilesPerRange = 4, TimeSpan? progressInterval = null)
    {
        string runId = $"run-{Guid.NewGuid():N}";
        var request = new SlideRunRequest("lab/a.svs", "\"0x1\"", "default") { TilesPerRange = tilesPerRange, MaxRedispatches = maxRedispatches, ProgressInterval = progressInterval ?? TimeSpan.FromSeconds(10) };
        await Client.ScheduleNewOrchestrationInstanceAsync(SlideRunOrchestrator.Name, request, new StartOrchestrationOptions(runId));
        return runId;
    }

    private Task NoticeAsync(string runId, WorkItem work, bool succeeded = true, bool lost = false, SlideCalls? calls = null) =>
        WorkCompletionRelay.RelayAsync(Client, new WorkCompletion(runId, work, succeeded, null, succeeded ? null : "delivered 5 times without completing") { Lost = lost, PlannedTiles = work.Kind == WorkKind.Plan ? 8 : 0, Calls = calls });

    private static SlideCalls Calls() => new([new StoredCall("majority", "tumour", new Dictionary<string, double> { ["tumour"] = 1 }, null)], new RunModel("default", null, "\"0x9\"", null, ["tumour"]), new Dictionary<string, string>());

    private async Task<SlideRun> FinishedAsync(string runId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        OrchestrationMetadata done = await Client.WaitForInstanceCompletionAsync(runId, getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<SlideRun>()!;
    }

    /// <summary>Plans 8 tiles and returns the two range pieces once both were sent.</summary>
    private async Task<(WorkItem First, WorkItem Second)> PlanAsync(string runId)
    {
        Assert.Equal(WorkKind.Plan, (await _sent.NextAsync(runId)).Work.Kind);
        await NoticeAsync(runId, WorkItem.Plan);
        WorkMessage a = await _sent.NextAsync(runId), b = await _sent.NextAsync(runId);
        return (a.Work, b.Work);
    }

    private async Task AggregateAsync(string runId)
    {
        Assert.Equal(WorkKind.Aggregate, (await _sent.NextAsync(runId)).Work.Kind);
        await NoticeAsync(runId, WorkItem.Aggregate, calls: Calls());
    }

    [Fact]
    public async Task A_lost_range_is_sent_again_at_once_as_a_new_attempt_and_the_run_completes()
    {
        string runId = await StartAsync();
        (WorkItem first, WorkItem second) = await PlanAsync(runId);

        await NoticeAsync(runId, first, succeeded: false, lost: true);
        WorkMessage again = await _sent.NextAsync(runId);
        Assert.Equal(first.Key, again.Work.Key);
        Assert.NotEqual(0, again.Attempt);

        await NoticeAsync(runId, first);
        await NoticeAsync(runId, second);
        await AggregateAsync(runId);
        SlideRun run = await FinishedAsync(runId);
        Assert.Equal((RunStatus.Completed, 2, 1), (run.Status, run.RangesDone, run.Redispatched));
        Assert.Equal("tumour", Assert.Single(run.Calls).Label);
        Assert.Equal(RunStatus.Completed, (await _runs.GetAsync(run.SlideId, runId))!.Status);
    }

    [Fact]
    public async Task A_range_lost_more_often_than_it_may_be_sent_again_fails_the_run_naming_it()
    {
        string runId = await StartAsync(maxRedispatches: 1);
        (WorkItem first, _) = await PlanAsync(runId);
        await NoticeAsync(runId, first, succeeded: false, lost: true);
        Assert.Equal(first.Key, (await _sent.NextAsync(runId)).Work.Key);
        await NoticeAsync(runId, first, succeeded: false, lost: true);

        SlideRun run = await FinishedAsync(runId);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal($"{first} failed: delivered 5 times without completing", run.Error);
        Assert.Equal(RunStatus.Failed, (await _runs.GetAsync(run.SlideId, runId))!.Status);
    }

    [Fact]
    public async Task Duplicate_late_and_foreign_notices_are_ignored_and_a_failed_range_fails_the_run()
    {
        string runId = await StartAsync();
        (WorkItem first, WorkItem second) = await PlanAsync(runId);
        await NoticeAsync(runId, WorkItem.Plan);                    // late duplicate of a finished stage
        await NoticeAsync(runId, first);
        await NoticeAsync(runId, first);                            // duplicate delivery
        await NoticeAsync("run-someone-else", second);              // another run's notice
        await NoticeAsync(runId, second);
        await AggregateAsync(runId);
        SlideRun run = await FinishedAsync(runId);
        Assert.Equal((RunStatus.Completed, 2, 0), (run.Status, run.RangesDone, run.Redispatched));

        string failing = await StartAsync();
        (WorkItem bad, _) = await PlanAsync(failing);
        await NoticeAsync(failing, bad, succeeded: false);
        SlideRun failed = await FinishedAsync(failing);
        Assert.Equal((RunStatus.Failed, $"{bad} failed: delivered 5 times without completing"), (failed.Status, failed.Error));
    }

    [Fact]
    public async Task A_running_slides_progress_is_stored_at_most_once_per_progress_interval()
    {
        async Task<IReadOnlyList<(string Status, int RangesDone)>> WritesAsync(TimeSpan interval)
        {
            string runId = await StartAsync(tilesPerRange: 1, progressInterval: interval);
            Assert.Equal(WorkKind.Plan, (await _sent.NextAsync(runId)).Work.Kind);
            await NoticeAsync(runId, WorkItem.Plan);
            for (int i = 0; i < 8; i++)
            {
                await NoticeAsync(runId, (await _sent.NextAsync(runId)).Work);
            }

            await AggregateAsync(runId);
            Assert.Equal(RunStatus.Completed, (await FinishedAsync(runId)).Status);
            return [.. _runs.Written(runId).Select(r => (r.Status, r.RangesDone))];
        }

        // 8 ranges in well under an hour: the stages only. With no interval, every range but the last as it comes in.
        Assert.Equal([(RunStatus.Planning, 0), (RunStatus.Running, 0), (RunStatus.Aggregating, 8), (RunStatus.Completed, 8)], await WritesAsync(TimeSpan.FromHours(1)));
        IReadOnlyList<(string Status, int RangesDone)> every = await WritesAsync(TimeSpan.Zero);
        Assert.Equal([.. Enumerable.Range(0, 8).Select(done => (RunStatus.Running, done))], every.Where(w => w.Status == RunStatus.Running));
    }

    // The results store, in memory, with every write kept in order.
    private sealed class Runs : ISlideRunStore
    {
        private readonly ConcurrentDictionary<string, SlideRun> _runs = new();
        private readonly ConcurrentQueue<SlideRun> _written = new();

        public IEnumerable<SlideRun> Written(string runId) => _written.Where(r => r.Id == runId);

        public Task UpsertAsync(SlideRun run, CancellationToken cancellationToken = default)
        {
            _runs[run.Id] = run;
            _written.Enqueue(run);
            return Task.CompletedTask;
        }

        public Task<bool> TryCreateAsync(SlideRun run, CancellationToken cancellationToken = default) => Task.FromResult(_runs.TryAdd(run.Id, run));

        public Task<SlideRun?> GetAsync(string slideId, string runId, CancellationToken cancellationToken = default) => Task.FromResult(_runs.GetValueOrDefault(runId));

        public Task ReleaseClaimAsync(SlideRun claim, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<IReadOnlyList<SlideRun>> ListAsync(string slideId, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<SlideRun>>([.. _runs.Values.Where(r => r.SlideId == slideId).OrderByDescending(r => r.CreatedUtc)]);
    }

    // The work queue, as the test reads it: every message dispatched, per run, in order.
    private sealed class SentWork : IWorkTransport
    {
        private readonly ConcurrentDictionary<string, Channel<WorkMessage>> _byRun = new();

        private Channel<WorkMessage> Of(string runId) => _byRun.GetOrAdd(runId, _ => Channel.CreateUnbounded<WorkMessage>());

        public async Task<WorkMessage> NextAsync(string runId)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await Of(runId).Reader.ReadAsync(timeout.Token);
        }

        public async Task SendAsync(IReadOnlyList<WorkMessage> ranges, CancellationToken cancellationToken = default)
        {
            foreach (WorkMessage message in ranges)
            {
                await Of(message.RunId).Writer.WriteAsync(message, cancellationToken);
            }
        }

        public Task<ReceivedWork?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<IReadOnlyList<(WorkMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
