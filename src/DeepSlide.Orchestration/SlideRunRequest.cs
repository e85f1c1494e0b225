using DeepSlide.Pipeline;
using DeepSlide.Tiling;

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

    /// <summary>
    /// Least time between two writes of a running slide's progress to the results store; the orchestration's custom
    /// status follows every range regardless. Each write is an activity and a Cosmos DB read and replace.
    /// </summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The trigger's W3C trace context, so the run's spans join the upload's trace.</summary>
    public string? TraceParent { get; init; }

    public string SlideId => SlideRun.SlideIdOf(SlideBlob);

    /// <summary>The ranges a plan of <paramref name="tiles"/> tiles is cut into for this run.</summary>
    public IReadOnlyList<TileRange> RangesOf(int tiles) => TileRange.Split(tiles, TilesPerRange, MaxRanges);

    /// <summary>The tiles per range <see cref="RangesOf"/> cuts, which the aggregate step cuts again to find them.</summary>
    public int RangeSizeOf(int tiles) => RangesOf(tiles) is [var first, ..] ? first.Count : TilesPerRange;
}

/// <summary>The orchestration's custom status: the stage, and for a running slide how many ranges are in.</summary>
public sealed record RunProgress(string Stage, int RangesDone, int RangesTotal)
{
    public override string ToString() => Stage == RunStatus.Running ? $"{Stage} {RangesDone}/{RangesTotal}" : Stage;
}

/// <summary>Work to send; <paramref name="RangeSize"/> is the run's tiles per range, which the aggregate step needs.</summary>
public sealed record DispatchRequest(string RunId, SlideRunRequest Run, IReadOnlyList<WorkItem> Work, int Attempt, string? TraceParent, int RangeSize = 0);
