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
        if (RunStatus.IsFinal(run.Status))
        {
            PipelineTelemetry.RunEnded(run);
        }

        return true;
    }
}

/// <summary>Sends the run's work to the workers: one message per piece, blob references only.</summary>
public sealed class DispatchActivity(IWorkTransport transport) : TaskActivity<DispatchRequest, int>
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
        List<WorkMessage> messages = request.Work.Select(w => Message(request.RunId, request.Run, w, request.Attempt, traceParent, request.RangeSize)).ToList();
        await transport.SendAsync(messages, cancellationToken);
        return messages.Count;
    }

    public static WorkMessage Message(string runId, SlideRunRequest run, WorkItem work, int attempt, string? traceParent, int rangeSize = 0)
    {
        var message = new WorkMessage(runId, run.SlideBlob, run.SlideETag, RunBlobs.Plan(runId), run.ModelPrefix, work, traceParent, attempt, rangeSize);
        int bytes = System.Text.Encoding.UTF8.GetByteCount(message.ToJson());
        if (bytes > WorkMessage.MaxBytes)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, run.SlideBlob, $"a work message would be {bytes} bytes; at most {WorkMessage.MaxBytes} are allowed.");
        }

        return message;
    }
}

/// <summary>The orchestration and its activities, registered once for every host that runs them outside Functions.</summary>
public static class SlideRunTasks
{
    /// <summary>The orchestrator's and activities' names: the Functions app binds a function to each.</summary>
    public static readonly IReadOnlyList<string> Names = [SlideRunOrchestrator.Name, RecordRunActivity.Name, DispatchActivity.Name];

    public static DurableTaskRegistry AddSlideRunTasks(this DurableTaskRegistry registry) => registry
        .AddOrchestrator<SlideRunOrchestrator>()
        .AddActivity<RecordRunActivity>()
        .AddActivity<DispatchActivity>();
}
