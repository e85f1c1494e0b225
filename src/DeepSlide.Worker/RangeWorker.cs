using DeepSlide.Pipeline;

namespace DeepSlide.Worker;

public enum RangeOutcome
{
    Idle,
    Completed,
    DeadLettered,
    Abandoned,
}

/// <summary>
/// The worker's loop body: take a range, process it, then complete it and send a completion notice. A range whose
/// input is bad (a corrupt slide, a plan it does not fit) is dead-lettered and reported as failed, with the reason,
/// so the run can fail cleanly; any other error gives the range back for another delivery. Nothing escapes to crash
/// the host.
/// </summary>
public sealed class RangeWorker(ITileRangeTransport transport, RangeProcessor processor, IRangeCompletionSink completions)
{
    public async Task<RangeOutcome> RunOnceAsync(TimeSpan wait, CancellationToken cancellationToken = default)
    {
        ReceivedTileRange? received = await transport.ReceiveAsync(wait, cancellationToken);
        if (received is null)
        {
            return RangeOutcome.Idle;
        }

        TileRangeMessage message = received.Message;
        try
        {
            RangeOutput output = await processor.ProcessAsync(message, cancellationToken);
            await completions.SendAsync(new RangeCompletion(message.RunId, message.Range, true, output.Blob, output.Patches, null), cancellationToken);
            await received.CompleteAsync(cancellationToken);
            return RangeOutcome.Completed;
        }
        catch (DeepSlideException ex) when (!ex.IsTransient)
        {
            await completions.SendAsync(new RangeCompletion(message.RunId, message.Range, false, null, 0, ex.Message), cancellationToken);
            await received.DeadLetterAsync(ex.Message, cancellationToken);
            return RangeOutcome.DeadLettered;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Storage or runtime trouble: another delivery may succeed, and the delivery limit bounds the retries.
            await received.AbandonAsync(CancellationToken.None);
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
}
