using System.Diagnostics.Metrics;

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

    /// <summary>The pipeline's meter: what the operations workbook charts (infra/modules/workbook.bicep reads these names).</summary>
    public const string MeterName = "DeepSlide.Pipeline";

    public const string RunsMetric = "deepslide.runs";
    public const string StageDurationMetric = "deepslide.stage.duration";
    public const string PatchRateMetric = "deepslide.worker.patch_rate";

    public static IReadOnlyList<string> Metrics { get; } = [RunsMetric, StageDurationMetric, PatchRateMetric];

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Runs that ended, by outcome (Completed, Failed, NoTissue).</summary>
    public static readonly Counter<long> Runs = Meter.CreateCounter<long>(RunsMetric, "{run}", "Runs that ended, by outcome.");

    /// <summary>Seconds a finished run spent in each stage (planning, inference, aggregating, pictures, total).</summary>
    public static readonly Histogram<double> StageDuration = Meter.CreateHistogram<double>(StageDurationMetric, "s", "Seconds a finished run spent in each stage.");

    /// <summary>Patches a worker classified per second over one range.</summary>
    public static readonly Histogram<double> PatchRate = Meter.CreateHistogram<double>(PatchRateMetric, "{patch}/s", "Patches a worker classified per second over one range.");

    /// <summary>Records a run that reached a final state: its outcome and its stage times.</summary>
    public static void RunEnded(SlideRun run)
    {
        Runs.Add(1, new KeyValuePair<string, object?>("outcome", run.Status));
        foreach ((string stage, double seconds) in run.Seconds)
        {
            if (stage is "planning" or "inference" or "aggregating" or "total")
            {
                StageDuration.Record(seconds, new KeyValuePair<string, object?>("stage", stage), new KeyValuePair<string, object?>("outcome", run.Status));
            }
        }
    }
}
