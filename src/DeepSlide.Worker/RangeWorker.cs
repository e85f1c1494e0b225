using System.Diagnostics;
using DeepSlide.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepSlide.Worker;

public enum RangeOutcome
{
    Idle,
    Completed,
    DeadLettered,
    Abandoned,
}

/// <summary>
/// The worker's loop body: take a range, process it (renewing its lock while the model runs), then send a completion
/// notice and complete it. A range whose input is bad (a corrupt slide, a plan it does not fit) is dead-lettered and
/// reported as failed, with the reason, so the run can fail cleanly; any other error gives the range back for another
/// delivery, and on the last delivery the queue allows it is dead-lettered and reported failed as well, so an
/// unexpected error still ends the run instead of leaving it waiting. Nothing escapes to crash the host. Every log
/// line carries the run id, and the range's span joins the run's trace through the message's trace context.
/// </summary>
public sealed class RangeWorker(
    ITileRangeTransport transport,
    RangeProcessor processor,
    IRangeCompletionSink completions,
    ILogger<RangeWorker>? logger = null,
    TimeSpan? lockDuration = null,
    WorkerHealth? health = null,
    int maxDeliveryCount = int.MaxValue)
{
    private static readonly TimeSpan ReceiveRetryDelay = TimeSpan.FromSeconds(2);

    private readonly ILogger _logger = logger ?? NullLogger<RangeWorker>.Instance;
    private readonly TimeSpan _renewEvery = (lockDuration ?? TimeSpan.FromMinutes(5)) / 2;

    public async Task<RangeOutcome> RunOnceAsync(TimeSpan wait, CancellationToken cancellationToken = default)
    {
        health?.Beat();
        ReceivedTileRange? received;
        try
        {
            received = await transport.ReceiveAsync(wait, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The queue is unreachable or answered nonsense: wait a moment and ask again; the host stays up.
            _logger.LogWarning("receiving a range failed ({Reason}); trying again", ex.Message);
            await Task.Delay(ReceiveRetryDelay, cancellationToken);
            return RangeOutcome.Idle;
        }

        if (received is null)
        {
            return RangeOutcome.Idle;
        }

        TileRangeMessage message = received.Message;
        using IDisposable? scope = _logger.BeginScope("run {RunId} {Kind} {Range}", message.RunId, message.Kind, message.Range);
        ActivityContext.TryParse(message.TraceParent, null, out ActivityContext parent);
        using Activity? span = RangeProcessor.Tracing.StartActivity($"worker {message.Kind}", ActivityKind.Consumer, parent);
        span?.SetTag("deepslide.run_id", message.RunId);
        span?.SetTag("deepslide.range", message.Range);
        span?.SetTag("messaging.message.id", message.MessageId);
        var watch = Stopwatch.StartNew();
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task renewal = RenewWhileRunningAsync(received, renewing.Token);
        try
        {
            RangeOutput output = await processor.ProcessAsync(message, cancellationToken);
            await StopAsync(renewing, renewal);
            await completions.SendAsync(new RangeCompletion(message.RunId, message.Range, true, output.Blob, output.Patches, null, message.Kind, Math.Round(watch.Elapsed.TotalSeconds, 3)), cancellationToken);
            await received.CompleteAsync(cancellationToken);
            _logger.LogInformation("{Kind} {Range} of run {RunId} done: {Count} in {Seconds:F2} s (delivery {Delivery})", message.Kind, message.Range, message.RunId, output.Patches, watch.Elapsed.TotalSeconds, received.DeliveryCount);
            return RangeOutcome.Completed;
        }
        catch (DeepSlideException ex)
        {
            await StopAsync(renewing, renewal);
            await completions.SendAsync(new RangeCompletion(message.RunId, message.Range, false, null, 0, ex.Message, message.Kind), cancellationToken);
            await received.DeadLetterAsync(ex.Message, cancellationToken);
            span?.SetStatus(ActivityStatusCode.Error, ex.Message);
            _logger.LogWarning("{Kind} {Range} of run {RunId} dead-lettered: {Reason}", message.Kind, message.Range, message.RunId, ex.Message);
            return RangeOutcome.DeadLettered;
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // The worker is stopping (a scale-in, a redeploy): give the range back now, so another worker takes it at
            // once instead of when its lock runs out minutes later.
            await StopAsync(renewing, renewal);
            await received.AbandonAsync(CancellationToken.None);
            _logger.LogInformation("{Kind} {Range} of run {RunId} given back: the worker is stopping", message.Kind, message.Range, message.RunId);
            return RangeOutcome.Abandoned;
        }
        catch (Exception ex) when (received.DeliveryCount >= maxDeliveryCount)
        {
            await StopAsync(renewing, renewal);
            string reason = $"{message.Kind} {message.Range} of {message.SlideBlob} failed on each of its {received.DeliveryCount} deliveries; the last: unexpected {ex.GetType().Name}: {ex.Message}";
            await completions.SendAsync(new RangeCompletion(message.RunId, message.Range, false, null, 0, reason, message.Kind), CancellationToken.None);
            await received.DeadLetterAsync(reason, CancellationToken.None);
            span?.SetStatus(ActivityStatusCode.Error, reason);
            _logger.LogError(ex, "{Kind} {Range} of run {RunId} dead-lettered after {Delivery} deliveries", message.Kind, message.Range, message.RunId, received.DeliveryCount);
            return RangeOutcome.DeadLettered;
        }
        catch (Exception ex)
        {
            // Storage or runtime trouble: another delivery may succeed, and the delivery limit bounds the retries.
            await StopAsync(renewing, renewal);
            await received.AbandonAsync(CancellationToken.None);
            span?.SetStatus(ActivityStatusCode.Error, ex.Message);
            _logger.LogWarning(ex, "{Kind} {Range} of run {RunId} given back after delivery {Delivery}", message.Kind, message.Range, message.RunId, received.DeliveryCount);
            return RangeOutcome.Abandoned;
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

    // A big range on a slow device can outlast the lock; renewing keeps another worker from taking it meanwhile.
    private async Task RenewWhileRunningAsync(ReceivedTileRange received, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_renewEvery, cancellationToken);
                await received.RenewLockAsync(cancellationToken);
                health?.Beat();
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
