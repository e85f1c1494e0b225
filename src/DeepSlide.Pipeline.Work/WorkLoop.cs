using System.Diagnostics;
using DeepSlide.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepSlide.Pipeline.Work;

public enum WorkOutcome
{
    Idle,
    Completed,
    DeadLettered,
    Abandoned,
}

/// <summary>
/// The worker's loop body: take a piece of work, do it (renewing its lock while it runs), then send its completion
/// notice and complete it. A piece whose input is bad (a corrupt slide, a plan it does not fit) is dead-lettered and
/// reported as failed, with the reason, so the run can fail cleanly; any other error gives it back for another
/// delivery, and on the last delivery the queue allows it is dead-lettered and reported failed as well, so an
/// unexpected error still ends the run instead of leaving it waiting. A body that is no piece of work is dead-lettered
/// by the transport, and a failing receive is retried, so nothing escapes to crash the host. Every log line carries
/// the run id, and the piece's span joins the run's trace through the message's trace context.
/// </summary>
public sealed class WorkLoop(
    IWorkTransport transport,
    WorkHandlers handlers,
    IWorkCompletionSink completions,
    ILogger<WorkLoop>? logger = null,
    TimeSpan? lockDuration = null,
    WorkerHealth? health = null,
    int maxDeliveryCount = int.MaxValue)
{
    private static readonly TimeSpan ReceiveRetryDelay = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan DiskFullPause = TimeSpan.FromSeconds(15);

    private readonly ILogger _logger = logger ?? NullLogger<WorkLoop>.Instance;
    private readonly TimeSpan _renewEvery = (lockDuration ?? TimeSpan.FromMinutes(5)) / 2;

    public async Task<WorkOutcome> RunOnceAsync(TimeSpan wait, CancellationToken cancellationToken = default)
    {
        health?.Beat();
        ReceivedWork? received;
        try
        {
            received = await transport.ReceiveAsync(wait, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The queue is unreachable or answered nonsense: wait a moment and ask again; the host stays up.
            _logger.LogWarning("receiving work failed ({Reason}); trying again", ex.Message);
            await Task.Delay(ReceiveRetryDelay, cancellationToken);
            return WorkOutcome.Idle;
        }

        if (received is null)
        {
            return WorkOutcome.Idle;
        }

        WorkMessage message = received.Message;
        string work = message.Work.Key;
        using IDisposable? scope = _logger.BeginScope("run {RunId} {Work}", message.RunId, work);
        if (received.DeliveryCount > maxDeliveryCount)
        {
            // Every earlier delivery ended without a notice (a worker killed or stopped mid-piece, a lock lost while
            // storage stalled): the run is told at once, and sends the piece again, instead of waiting out its deadline.
            string lost = $"{message.Work} of {message.SlideBlob} was delivered {received.DeliveryCount - 1} times without completing (its workers stopped or lost its lock)";
            try
            {
                await completions.SendAsync(Failed(message, lost) with { Lost = true }, cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Kept, not dead-lettered, while its run cannot be told: it comes back when its lock runs out.
                _logger.LogWarning(ex, "the lost notice of {Work} of run {RunId} could not be sent; it will be delivered again", work, message.RunId);
                return WorkOutcome.Abandoned;
            }

            await SettleAsync("dead-lettering it", () => received.DeadLetterAsync(lost, cancellationToken));
            _logger.LogWarning("{Work} of run {RunId} given up: {Reason}", work, message.RunId, lost);
            return WorkOutcome.DeadLettered;
        }

        ActivityContext.TryParse(message.TraceParent, null, out ActivityContext parent);
        using Activity? span = WorkHandlers.Tracing.StartActivity($"worker {message.Work.Kind.ToString().ToLowerInvariant()}", ActivityKind.Consumer, parent);
        span?.SetTag("deepslide.run_id", message.RunId);
        span?.SetTag("deepslide.work", work);
        span?.SetTag("messaging.message.id", message.MessageId);
        var watch = Stopwatch.StartNew();
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task renewal = RenewWhileRunningAsync(received, renewing.Token);
        try
        {
            WorkCompletion done = await handlers.HandleAsync(message, cancellationToken);
            await StopAsync(renewing, renewal);
            await completions.SendAsync(done with { Seconds = Math.Round(watch.Elapsed.TotalSeconds, 3) }, cancellationToken);
            await received.CompleteAsync(cancellationToken);
            if (message.Work.Kind == WorkKind.Range && done.Patches > 0 && watch.Elapsed.TotalSeconds > 0)
            {
                PipelineTelemetry.PatchRate.Record(done.Patches / watch.Elapsed.TotalSeconds);
            }

            _logger.LogInformation("{Work} of run {RunId} done in {Seconds:F2} s (delivery {Delivery})", work, message.RunId, watch.Elapsed.TotalSeconds, received.DeliveryCount);
            return WorkOutcome.Completed;
        }
        catch (DeepSlideException ex)
        {
            await StopAsync(renewing, renewal);
            await SettleAsync("its failed notice", () => completions.SendAsync(Failed(message, ex.Message), cancellationToken));
            await SettleAsync("dead-lettering it", () => received.DeadLetterAsync(ex.Message, cancellationToken));
            span?.SetStatus(ActivityStatusCode.Error, ex.Message);
            _logger.LogWarning("{Work} of run {RunId} dead-lettered: {Reason}", work, message.RunId, ex.Message);
            return WorkOutcome.DeadLettered;
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // The worker is stopping (a scale-in, a redeploy): give the piece back now, so another worker takes it at
            // once instead of when its lock runs out minutes later.
            await StopAsync(renewing, renewal);
            await SettleAsync("giving it back", () => received.AbandonAsync(CancellationToken.None));
            _logger.LogInformation("{Work} of run {RunId} given back: the worker is stopping", work, message.RunId);
            return WorkOutcome.Abandoned;
        }
        catch (Exception ex) when (received.DeliveryCount >= maxDeliveryCount)
        {
            await StopAsync(renewing, renewal);
            string reason = $"{message.Work} of {message.SlideBlob} failed on each of its {received.DeliveryCount} deliveries; the last: unexpected {ex.GetType().Name}: {ex.Message}";
            await SettleAsync("its failed notice", () => completions.SendAsync(Failed(message, reason), CancellationToken.None));
            await SettleAsync("dead-lettering it", () => received.DeadLetterAsync(reason, CancellationToken.None));
            span?.SetStatus(ActivityStatusCode.Error, reason);
            _logger.LogError(ex, "{Work} of run {RunId} dead-lettered after {Delivery} deliveries", work, message.RunId, received.DeliveryCount);
            return WorkOutcome.DeadLettered;
        }
        catch (Exception ex)
        {
            // Storage or runtime trouble: another delivery may succeed, and the delivery limit bounds the retries. A
            // full disk takes a while to clear, so the piece is held (its lock still renewed) before it is given
            // back: its deliveries are not all spent within seconds of the disk filling.
            if (DiskSpace.IsFull(ex))
            {
                _logger.LogWarning("{Work} of run {RunId}: the disk is full ({Reason}); holding it {Seconds} s before giving it back", work, message.RunId, ex.Message, DiskFullPause.TotalSeconds);
                await Task.Delay(DiskFullPause, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            await StopAsync(renewing, renewal);
            await SettleAsync("giving it back", () => received.AbandonAsync(CancellationToken.None));
            span?.SetStatus(ActivityStatusCode.Error, ex.Message);
            _logger.LogWarning(ex, "{Work} of run {RunId} given back after delivery {Delivery}", work, message.RunId, received.DeliveryCount);
            return WorkOutcome.Abandoned;
        }
    }

    /// <summary>Runs until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await RunOnceAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
    }

    // Settling a piece can fail as well (the queue went away, a receipt went stale after a failed complete). That is
    // logged and the piece left to its lock, which runs out and delivers it again; it never stops the worker.
    private async Task SettleAsync(string what, Func<Task> settle)
    {
        try
        {
            await settle();
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "settling a piece of work ({What}) failed; its lock will run out and it will be delivered again", what);
        }
    }

    private static WorkCompletion Failed(WorkMessage message, string reason) => new(message.RunId, message.Work, false, null, reason);

    // A big range on a slow device can outlast the lock; renewing keeps another worker from taking it meanwhile.
    private async Task RenewWhileRunningAsync(ReceivedWork received, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_renewEvery, cancellationToken);
                await received.RenewLockAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "could not renew the lock of {MessageId}", received.Message.MessageId);
        }
    }

    private static async Task StopAsync(CancellationTokenSource renewing, Task renewal)
    {
        await renewing.CancelAsync();
        await renewal;
    }
}
