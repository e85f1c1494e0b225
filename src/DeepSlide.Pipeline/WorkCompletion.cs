using System.Text.Json;

namespace DeepSlide.Pipeline;

/// <summary>
/// A worker's notice that a piece of a run is done (its output blob) or failed for good (the reason), with the
/// seconds the worker spent on it and what the step counted: the plan its tiles, a range its patches, the pictures
/// their files, the aggregate step the slide's calls.
/// </summary>
public sealed record WorkCompletion(string RunId, WorkItem Work, bool Succeeded, string? OutputBlob, string? Error, double Seconds = 0)
{
    /// <summary>The orchestration event every notice is raised as.</summary>
    public const string EventName = "WorkCompleted";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The plan step: tissue tiles in the plan.</summary>
    public int PlannedTiles { get; init; }

    /// <summary>A range or the aggregate step: patches classified or merged.</summary>
    public int Patches { get; init; }

    /// <summary>The pictures step: files drawn.</summary>
    public int Files { get; init; }

    /// <summary>The aggregate step: the slide's calls and the model that made them.</summary>
    public SlideCalls? Calls { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static WorkCompletion FromJson(string json)
    {
        try
        {
            WorkCompletion notice = JsonSerializer.Deserialize<WorkCompletion>(json, Json) ?? throw new JsonException("empty document");
            return notice.Work?.Problem() is { } problem || notice.Work is null || string.IsNullOrEmpty(notice.RunId)
                ? throw new JsonException(notice.Work?.Problem() ?? "the notice lacks its run id or work.")
                : notice;
        }
        catch (JsonException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"not a work completion notice: {ex.Message}", ex);
        }
    }
}

/// <summary>What the aggregate step tells the run: each aggregator's call, the model, and the merged outputs' blobs.</summary>
public sealed record SlideCalls(IReadOnlyList<StoredCall> Calls, RunModel Model, IReadOnlyDictionary<string, string> Outputs);

/// <summary>Tells the orchestration about finished work (a queue the completion trigger turns into events).</summary>
public interface IWorkCompletionSink
{
    Task SendAsync(WorkCompletion completion, CancellationToken cancellationToken = default);
}
