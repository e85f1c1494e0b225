using DeepSlide.Slides;
using DeepSlide.Tiling;

namespace DeepSlide.Viewer;

/// <summary>
/// Where the viewer's runs come from: a classify output folder (the CLI) or the pipeline's stores (the local stack and
/// Azure). Every lookup is by run id, never by a path or blob name a request supplied.
/// </summary>
public interface IViewerSource
{
    /// <summary>Every run, newest first.</summary>
    Task<IReadOnlyList<RunSummary>> ListRunsAsync(CancellationToken cancellationToken = default);

    Task<RunSummary?> GetRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>The run's patch results; null when the run has none (not finished, failed, or no tissue).</summary>
    Task<RunResults?> GetResultsAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>The slide as the run read it (the same version), opened for tile reads; null for an unknown run.</summary>
    Task<ViewerSlide?> OpenSlideAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>A result file by kind (<see cref="ResultFileKinds"/>); null when the run has no such file.</summary>
    Task<ResultFile?> OpenFileAsync(string runId, string kind, CancellationToken cancellationToken = default);
}

/// <summary>An open slide for one request; disposing it lets the shared reader go.</summary>
public abstract class ViewerSlide : IDisposable
{
    public abstract ISlideReader Reader { get; }

    /// <summary>Makes sure the bytes a tile reads are at hand (ranged reads fetch them); a local file has them all.</summary>
    public virtual Task EnsureAsync(DeepZoomRead read, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Takes the reader out of service after a failed read, so the next request opens the slide afresh.</summary>
    public abstract void Discard();

    public abstract void Dispose();
}

/// <summary>A result file to download.</summary>
public sealed record ResultFile(string FileName, string ContentType, Func<CancellationToken, Task<Stream>> OpenAsync);

/// <summary>The result files the slide page links to, by kind.</summary>
public static class ResultFileKinds
{
    public const string QuPath = "geojson";
    public const string Parquet = "parquet";
    public const string Csv = "csv";
    public const string Json = "json";

    public static IReadOnlyList<string> All { get; } = [QuPath, Parquet, Csv, Json];

    public static string ContentType(string kind) => kind switch
    {
        QuPath => "application/geo+json",
        Parquet => "application/vnd.apache.parquet",
        Csv => "text/csv",
        _ => "application/json",
    };
}
