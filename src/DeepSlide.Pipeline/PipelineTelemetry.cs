namespace DeepSlide.Pipeline;

/// <summary>
/// The trace sources of the pipeline, one per stage: trigger → orchestration (dispatch, aggregate) → worker. A run's
/// spans form one trace: the trigger's context travels in the orchestration input and then in each range message.
/// </summary>
public static class PipelineTelemetry
{
    public const string Trigger = "DeepSlide.Trigger";
    public const string Orchestration = "DeepSlide.Orchestration";
    public const string Worker = "DeepSlide.Worker";

    /// <summary>The Durable Task SDK's own spans (orchestrations, activities).</summary>
    public const string DurableTask = "Microsoft.DurableTask";

    public static IReadOnlyList<string> Sources { get; } = [Trigger, Orchestration, Worker, DurableTask];
}
