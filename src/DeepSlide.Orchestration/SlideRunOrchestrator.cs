using DeepSlide.Pipeline;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Orchestration;

/// <summary>
/// One slide run, every step of it done by workers: plan, one message per range, and aggregate (which draws the
/// pictures too). For each step it dispatches the work and waits for a notice per piece (in any order, duplicates
/// ignored, missing ones re-dispatched after the deadline a bounded number of times), then stores the run. Every
/// stage is written to the results store and shown as custom status. It is deterministic: time comes from the
/// context, and everything else happens in activities or on workers.
/// </summary>
public sealed class SlideRunOrchestrator : TaskOrchestrator<SlideRunRequest, SlideRun>
{
    public const string Name = nameof(SlideRunOrchestrator);

    /// <summary>
    /// Recording and dispatching talk to Cosmos DB and the queue, which fail briefly now and then (a 429, a restart):
    /// a durable retry, 2 s doubling to a minute, over about 10 minutes, rides that out instead of failing the run.
    /// </summary>
    internal static readonly TaskOptions Retried = TaskOptions.FromRetryPolicy(new RetryPolicy(12, TimeSpan.FromSeconds(2), 2, TimeSpan.FromMinutes(1)));

    public override async Task<SlideRun> RunAsync(TaskOrchestrationContext context, SlideRunRequest request)
    {
        ILogger log = context.CreateReplaySafeLogger<SlideRunOrchestrator>();
        using IDisposable? scope = log.BeginScope("run {RunId}", context.InstanceId);
        DateTime started = context.CurrentUtcDateTime;
        var seconds = new Dictionary<string, double>();
        var run = new SlideRun
        {
            Id = context.InstanceId,
            SlideId = request.SlideId,
            SlideBlob = request.SlideBlob,
            SlideETag = request.SlideETag,
            ModelPrefix = request.ModelPrefix,
            CreatedUtc = started,
            Outputs = new Dictionary<string, string> { ["plan"] = RunBlobs.Plan(context.InstanceId) },
        };
        var waiter = new CompletionWaiter(context, request);
        try
        {
            run = await RecordAsync(context, run, RunStatus.Planning, seconds, started);
            IReadOnlyDictionary<string, WorkCompletion> planned = await waiter.RunAsync([WorkItem.Plan], null);
            int tiles = planned[WorkItem.Plan.Key].PlannedTiles;
            seconds["planning"] = Elapsed(context, started);
            if (tiles == 0)
            {
                log.LogInformation("run {RunId}: {Slide} has no tissue", context.InstanceId, request.SlideBlob);
                return await RecordAsync(context, run with { Error = "no tissue was found on the slide; nothing was classified." }, RunStatus.NoTissue, seconds, started);
            }

            IReadOnlyList<WorkItem> ranges = request.RangesOf(tiles).Select(WorkItem.ForRange).ToList();
            run = await RecordAsync(context, run with { RangesTotal = ranges.Count, Patches = tiles }, RunStatus.Running, seconds, started);
            DateTime inference = context.CurrentUtcDateTime;
            // Custom status follows every range; the stored document at most once per progress interval, by the
            // orchestration's own clock, so history and store writes do not grow with the range count.
            DateTime recorded = inference;
            IReadOnlyDictionary<string, WorkCompletion> classified = await waiter.RunAsync(ranges, async done =>
            {
                context.SetCustomStatus(new RunProgress(RunStatus.Running, done, ranges.Count));
                if (done < ranges.Count && context.CurrentUtcDateTime - recorded >= request.ProgressInterval)
                {
                    run = await RecordAsync(context, run with { RangesDone = done }, RunStatus.Running, seconds, started);
                    recorded = context.CurrentUtcDateTime;
                }
            });
            seconds["inference"] = Elapsed(context, inference);

            // Worker time, summed over ranges: with the stage times it shows what the orchestration itself costs.
            seconds["workerPlan"] = planned[WorkItem.Plan.Key].Seconds;
            seconds["workerRanges"] = Math.Round(classified.Values.Sum(c => c.Seconds), 3);
            seconds["rangeFetchMax"] = classified.Values.Max(c => c.FetchSeconds);

            DateTime aggregating = context.CurrentUtcDateTime;
            run = await RecordAsync(context, run with { RangesDone = ranges.Count, Redispatched = waiter.Redispatched }, RunStatus.Aggregating, seconds, started);
            IReadOnlyDictionary<string, WorkCompletion> aggregated = await waiter.RunAsync([WorkItem.Aggregate], null, request.RangeSizeOf(tiles));
            SlideCalls outcome = aggregated[WorkItem.Aggregate.Key].Calls ?? throw new RunFailedException("the aggregate step reported no slide calls.");
            seconds["aggregating"] = Elapsed(context, aggregating);
            seconds["workerAggregate"] = aggregated[WorkItem.Aggregate.Key].Seconds;

            WorkCompletion[] slideReads = [planned[WorkItem.Plan.Key], .. classified.Values, aggregated[WorkItem.Aggregate.Key]];
            var outputs = new Dictionary<string, string>(run.Outputs);
            foreach ((string key, string blob) in outcome.Outputs)
            {
                outputs[key] = blob;
            }

            outputs["pictures"] = RunBlobs.Pictures(context.InstanceId);
            return await RecordAsync(
                context,
                run with
                {
                    Model = outcome.Model,
                    Calls = outcome.Calls,
                    Outputs = outputs,
                    PatchOutputs = ranges.Select(r => RunBlobs.Range(context.InstanceId, r.RangeTiles.Index)).ToList(),
                    SlideBytes = slideReads.Max(c => c.SlideBytes),
                    SlideBytesFetched = slideReads.Sum(c => c.SlideBytesFetched),
                    WholeSlideBecause = slideReads.Select(c => c.WholeSlideBecause).FirstOrDefault(w => w is not null),
                    Redispatched = waiter.Redispatched,
                },
                RunStatus.Completed,
                seconds,
                started);
        }
        catch (RunFailedException ex)
        {
            log.LogWarning("run {RunId} failed: {Reason}", context.InstanceId, ex.Message);
            return await RecordAsync(context, run with { Error = ex.Message, Redispatched = waiter.Redispatched }, RunStatus.Failed, seconds, started);
        }
        catch (TaskFailedException ex)
        {
            string reason = $"{ex.TaskName} failed: {ex.FailureDetails.ErrorMessage}";
            log.LogWarning("run {RunId} failed: {Reason}", context.InstanceId, reason);
            return await RecordAsync(context, run with { Error = reason, Redispatched = waiter.Redispatched }, RunStatus.Failed, seconds, started);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A defect in the orchestration itself: the run still ends Failed with the cause, never left non-final.
            string reason = $"the orchestration failed: {ex.GetType().Name}: {ex.Message}";
            log.LogError(ex, "run {RunId} failed", context.InstanceId);
            return await RecordAsync(context, run with { Error = reason, Redispatched = waiter.Redispatched }, RunStatus.Failed, seconds, started);
        }
    }

    private static async Task<SlideRun> RecordAsync(TaskOrchestrationContext context, SlideRun run, string status, Dictionary<string, double> seconds, DateTime started)
    {
        if (RunStatus.IsFinal(status))
        {
            seconds["total"] = Elapsed(context, started);
        }

        run = run with { Status = status, Revision = run.Revision + 1, UpdatedUtc = context.CurrentUtcDateTime, Seconds = new Dictionary<string, double>(seconds) };
        context.SetCustomStatus(new RunProgress(status, run.RangesDone, run.RangesTotal));
        await context.CallActivityAsync(RecordRunActivity.Name, run, Retried);
        return run;
    }

    private static double Elapsed(TaskOrchestrationContext context, DateTime since) => Math.Round((context.CurrentUtcDateTime - since).TotalSeconds, 3);
}

/// <summary>A run that cannot go on (a bad slide, a range that failed for good, a deadline passed too often).</summary>
public sealed class RunFailedException(string message) : Exception(message);

/// <summary>
/// Sends work to workers and waits for a notice per piece. Notices for pieces not awaited (duplicates, or late ones
/// from an earlier stage) are ignored. One event task is kept outstanding across deadlines: a second waiter on the
/// same event name would take notices meant for the first. Nothing here awaits anything but the context's tasks
/// (the timer is cancelled synchronously): a continuation on another thread would run after the episode ended.
/// </summary>
internal sealed class CompletionWaiter(TaskOrchestrationContext context, SlideRunRequest request)
{
    private Task<WorkCompletion>? _next;

    public int Redispatched { get; private set; }

    public async Task<IReadOnlyDictionary<string, WorkCompletion>> RunAsync(IReadOnlyList<WorkItem> work, Func<int, Task>? progress, int rangeSize = 0)
    {
        var pending = work.ToDictionary(w => w.Key);
        var done = new Dictionary<string, WorkCompletion>();
        var resent = new Dictionary<string, int>();
        await DispatchAsync(work, attempt: 0, rangeSize);
        int attempt = 0;
        int sends = 0;
        int doneAtLastDeadline = 0;
        using var timers = new CancellationTokenSource();
        Task deadline = context.CreateTimer(request.Deadline, timers.Token);
        while (pending.Count > 0)
        {
            _next ??= context.WaitForExternalEvent<WorkCompletion>(WorkCompletion.EventName);
            Task winner = await Task.WhenAny(_next, deadline);
            if (winner == _next)
            {
                WorkCompletion notice = _next.Result;
                _next = null;
                if (notice.RunId != context.InstanceId || !pending.Remove(notice.Work.Key, out WorkItem? item))
                {
                    continue;
                }

                // A piece its workers lost (killed, or its lock lapsed while storage stalled) is sent again at once,
                // as a deadline would, a few times at most; its own failure fails the run.
                if (!notice.Succeeded && notice.Lost && resent.GetValueOrDefault(item.Key) < request.MaxRedispatches)
                {
                    resent[item.Key] = resent.GetValueOrDefault(item.Key) + 1;
                    pending[item.Key] = item;
                    Redispatched++;
                    await DispatchAsync([item], ++sends + request.MaxRedispatches, rangeSize);
                    continue;
                }

                if (!notice.Succeeded)
                {
                    timers.Cancel();
                    throw new RunFailedException($"{item} failed: {notice.Error}");
                }

                done[notice.Work.Key] = notice;
                if (progress is not null)
                {
                    await progress(done.Count);
                }
                continue;
            }

            // The deadline passed. Progress since the last one means the workers are busy, not lost: wait again.
            if (done.Count == doneAtLastDeadline)
            {
                if (attempt == request.MaxRedispatches)
                {
                    string missing = string.Join(", ", pending.Values.Take(10));
                    throw new RunFailedException(
                        $"{pending.Count} piece(s) got no completion notice within {request.Deadline} after {attempt} re-dispatch(es): {missing}{(pending.Count > 10 ? ", …" : string.Empty)}.");
                }

                attempt++;
                Redispatched += pending.Count;
                await DispatchAsync(pending.Values.ToList(), attempt, rangeSize);
            }

            doneAtLastDeadline = done.Count;
            deadline = context.CreateTimer(request.Deadline, timers.Token);
        }

        timers.Cancel();
        return done;
    }

    private Task DispatchAsync(IReadOnlyList<WorkItem> work, int attempt, int rangeSize) =>
        context.CallActivityAsync<int>(DispatchActivity.Name, new DispatchRequest(context.InstanceId, request, work, attempt, request.TraceParent, rangeSize), SlideRunOrchestrator.Retried);
}
