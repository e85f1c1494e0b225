using DeepSlide.Orchestration;
using DeepSlide.Pipeline;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace DeepSlide.Functions;

/// <summary>The model uploads are classified with.</summary>
public sealed record ModelChoice(string Prefix);

/// <summary>
/// The orchestration and its activities as functions, each a one-line binding of the class the local durable host
/// registers through <see cref="SlideRunTasks"/>. The work itself runs on workers; nothing here reads a slide or a blob.
/// </summary>
public sealed class SlideRunFunctions(ISlideRunStore store, IWorkTransport transport)
{
    [Function(SlideRunOrchestrator.Name)]
    public static Task<SlideRun> Orchestrate([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new SlideRunOrchestrator().RunAsync(context, context.GetInput<SlideRunRequest>() ?? throw new InvalidOperationException("the orchestration has no input."));

    [Function(RecordRunActivity.Name)]
    public Task<bool> Record([ActivityTrigger] SlideRun run, CancellationToken cancellationToken) => new RecordRunActivity(store).ExecuteAsync(run, cancellationToken);

    [Function(DispatchActivity.Name)]
    public Task<int> Dispatch([ActivityTrigger] DispatchRequest request, CancellationToken cancellationToken) => new DispatchActivity(transport).ExecuteAsync(request, cancellationToken);
}
