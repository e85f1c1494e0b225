using System.Diagnostics;
using DeepSlide.Pipeline;
using Microsoft.DurableTask;

namespace DeepSlide.Orchestration;

/// <summary>Writes the run's document to the results store (Cosmos DB): every stage, so a lab sees where a run is.</summary>
public sealed class RecordRunActivity(ISlideRunStore store) : TaskActivity<SlideRun, bool>
{
    public const string Name = nameof(RecordRunActivity);

    // Durable Task gives an activity no cancellation; the Functions host does, through ExecuteAsync.
    public override Task<bool> RunAsync(TaskActivityContext context, SlideRun run) => ExecuteAsync(run, CancellationToken.None);

    public async Task<bool> ExecuteAsync(SlideRun run, CancellationToken cancellationToken)
    {
        await store.UpsertAsync(run, cancellationToken);
        return true;
    }
}

/// <summary>Sends the run's work to the workers: one message per piece, blob references only.</summary>
public sealed class DispatchActivity(ITileRangeTransport transport) : TaskActivity<DispatchRequest, int>
{
    public const string Name = nameof(DispatchActivity);

    public static readonly ActivitySource Tracing = new(PipelineTelemetry.Orchestration);

    public override Task<int> RunAsync(TaskActivityContext context, DispatchRequest request) => ExecuteAsync(request, CancellationToken.None);

    public async Task<int> ExecuteAsync(DispatchRequest request, CancellationToken cancellationToken)
    {
        using Activity? span = Tracing.StartActivity("dispatch", ActivityKind.Producer, request.TraceParent);
        span?.SetTag("deepslide.run_id", request.RunId);
        span?.SetTag("deepslide.messages", request.Work.Count);
        string? traceParent = span?.Id ?? request.TraceParent;
        List<TileRangeMessage> messages = request.Work.Select(w => Message(request.RunId, request.Run, w, request.Attempt, traceParent)).ToList();
        await transport.SendAsync(messages, cancellationToken);
        return messages.Count;
    }

    public static TileRangeMessage Message(string runId, SlideRunRequest run, WorkItem work, int attempt, string? traceParent)
    {
        var message = new TileRangeMessage(runId, run.SlideBlob, run.SlideETag, RunBlobs.Plan(runId), run.ModelPrefix, work.Range, work.Start, work.Count, work.Kind, traceParent, attempt);
        int bytes = System.Text.Encoding.UTF8.GetByteCount(message.ToJson());
        if (bytes > TileRangeMessage.MaxBytes)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, run.SlideBlob, $"a range message would be {bytes} bytes; at most {TileRangeMessage.MaxBytes} are allowed.");
        }

        return message;
    }
}

/// <summary>Merges the ranges' predictions and runs every aggregator the model's manifest configures.</summary>
public sealed class AggregateActivity(RunAggregator aggregator) : TaskActivity<AggregateRequest, AggregateOutcome>
{
    public const string Name = nameof(AggregateActivity);

    public override Task<AggregateOutcome> RunAsync(TaskActivityContext context, AggregateRequest request) => ExecuteAsync(request, CancellationToken.None);

    public Task<AggregateOutcome> ExecuteAsync(AggregateRequest request, CancellationToken cancellationToken) => aggregator.AggregateAsync(request, cancellationToken);
}
