using DeepSlide.Pipeline;

namespace DeepSlide.Orchestration;

/// <summary>What a run classifies: one version of one slide with one model bundle, and how its work is split and watched.</summary>
public sealed record SlideRunRequest(string SlideBlob, string SlideETag, string ModelPrefix)
{
    /// <summary>Tiles per range: big enough that a slide makes hundreds of ranges, not thousands.</summary>
    public int TilesPerRange { get; init; } = 64;

    /// <summary>Ranges are made bigger than <see cref="TilesPerRange"/> when a slide would need more than this many.</summary>
    public int MaxRanges { get; init; } = 500;

    /// <summary>How long the run waits without any notice before it re-dispatches the missing pieces.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Re-dispatches of missing pieces before the run fails.</summary>
    public int MaxRedispatches { get; init; } = 2;

    /// <summary>The trigger's W3C trace context, so the run's spans join the upload's trace.</summary>
    public string? TraceParent { get; init; }

    public string SlideId => SlideRun.SlideIdOf(SlideBlob);
}

/// <summary>One piece of work the run sends to workers: the plan, a range of tiles, or the pictures.</summary>
public sealed record WorkItem(string Kind, int Range, int Start, int Count)
{
    public static readonly WorkItem Plan = new(WorkKind.Plan, -1, 0, 0);

    public static readonly WorkItem Pictures = new(WorkKind.Pictures, -2, 0, 0);

    /// <summary>Matches <see cref="RangeCompletion.Key"/>.</summary>
    public string Key => Kind == WorkKind.Range ? $"{WorkKind.Range}:{Range}" : Kind;

    /// <summary>
    /// Ranges over <paramref name="tiles"/> plan tiles: <paramref name="tilesPerRange"/> each, or more when that would
    /// make over <paramref name="maxRanges"/>.
    /// </summary>
    public static IReadOnlyList<WorkItem> Ranges(int tiles, int tilesPerRange, int maxRanges)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tilesPerRange);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRanges);
        int size = Math.Max(tilesPerRange, (tiles + maxRanges - 1) / maxRanges);
        var ranges = new List<WorkItem>();
        for (int start = 0, index = 0; start < tiles; start += size, index++)
        {
            ranges.Add(new WorkItem(WorkKind.Range, index, start, Math.Min(size, tiles - start)));
        }

        return ranges;
    }
}

/// <summary>The orchestration's custom status: the stage, and for a running slide how many ranges are in.</summary>
public sealed record RunProgress(string Stage, int RangesDone, int RangesTotal)
{
    public override string ToString() => Stage == RunStatus.Running ? $"{Stage} {RangesDone}/{RangesTotal}" : Stage;
}

public sealed record DispatchRequest(string RunId, SlideRunRequest Run, IReadOnlyList<WorkItem> Work, int Attempt, string? TraceParent);

public sealed record AggregateRequest(string RunId, SlideRunRequest Run, IReadOnlyList<WorkItem> Ranges, int Patches);

public sealed record AggregateOutcome(IReadOnlyList<StoredCall> Calls, RunModel Model, IReadOnlyDictionary<string, string> Outputs);
