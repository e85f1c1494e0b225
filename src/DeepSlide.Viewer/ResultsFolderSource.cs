using System.Security.Cryptography;
using System.Text;
using DeepSlide.Aggregation;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Tissue;

namespace DeepSlide.Viewer;

/// <summary>
/// The runs of a <c>deepslide classify</c> output folder: one run per <c>{slide}.json</c>, its slide found by file
/// name in the slides folder. A run's id is a hash of the slide's name, so no request names a file.
/// </summary>
public sealed class ResultsFolderSource : IViewerSource, IDisposable
{
    private readonly string _results;
    private readonly string _slides;
    private readonly SlideReaders _readers = new();
    private readonly Dictionary<string, (DateTime Written, RunResults? Results)> _loaded = [];
    private readonly Dictionary<string, FolderRun?> _documents = [];

    // A tile request must not list the folders: the run's result file and its slide's path are looked up once.
    private readonly Dictionary<string, string> _resultFiles = [];
    private readonly Dictionary<string, string?> _slideFiles = [];

    public ResultsFolderSource(string resultsFolder, string slidesFolder)
    {
        if (!Directory.Exists(resultsFolder))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, resultsFolder, "the results folder does not exist.");
        }

        if (!Directory.Exists(slidesFolder))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, slidesFolder, "the slides folder does not exist.");
        }

        _results = Path.GetFullPath(resultsFolder);
        _slides = Path.GetFullPath(slidesFolder);
    }

    public static string RunIdOf(string slideName) => "slide-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(slideName)))[..24];

    public Task<IReadOnlyList<RunSummary>> ListRunsAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<RunSummary>>(Runs().Select(r => r.Summary).OrderByDescending(r => r.UpdatedUtc).ToList());

    public Task<RunSummary?> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        Task.FromResult(Find(runId)?.Summary);

    public async Task<RunResults?> GetResultsAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (Find(runId) is not { } run || run.Result.Status != SlideStatus.Classified)
        {
            return null;
        }

        string parquet = Path.Combine(_results, "patches", run.Result.Slide + ".parquet");
        if (!File.Exists(parquet))
        {
            return null;
        }

        DateTime written = File.GetLastWriteTimeUtc(parquet);
        lock (_loaded)
        {
            if (_loaded.TryGetValue(runId, out var cached) && cached.Written == written)
            {
                return cached.Results;
            }
        }

        string planPath = Path.Combine(_results, "plans", run.Result.Slide + ".json");
        TissueMask? mask = File.Exists(planPath) ? TilePlanJson.Deserialize(await File.ReadAllTextAsync(planPath, cancellationToken), planPath).Mask : null;
        RunResults? results = await RunResults.LoadAsync(run.Result, parquet, mask, cancellationToken);
        lock (_loaded)
        {
            _loaded[runId] = (written, results);
        }

        return results;
    }

    public Task<ViewerSlide?> OpenSlideAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (Find(runId) is not { } run)
        {
            return Task.FromResult<ViewerSlide?>(null);
        }

        string? found;
        lock (_slideFiles)
        {
            if (!_slideFiles.TryGetValue(runId, out found) || found is null || !File.Exists(found))
            {
                found = SlideFile(run.Result);
                _slideFiles[runId] = found;
            }
        }

        string path = found
            ?? throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, run.Result.Slide, $"the slide is not in the slides folder {_slides}.");

        // classify recorded no checksum: a slide written after its result is a different slide than the one classified.
        if (File.GetLastWriteTimeUtc(path) > run.Written)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, path, "the slide changed after it was classified; classify it again to view it.");
        }

        return Task.FromResult<ViewerSlide?>(new LeasedSlide(_readers.Open(path)));
    }

    public Task<ResultFile?> OpenFileAsync(string runId, string kind, CancellationToken cancellationToken = default)
    {
        if (Find(runId) is not { } run)
        {
            return Task.FromResult<ResultFile?>(null);
        }

        string slide = run.Result.Slide;
        string? path = kind switch
        {
            ResultFileKinds.QuPath => Path.Combine(_results, "qupath", slide + ".geojson"),
            ResultFileKinds.Parquet => Path.Combine(_results, "patches", slide + ".parquet"),
            ResultFileKinds.Csv => Path.Combine(_results, "patches", slide + ".csv"),
            ResultFileKinds.Json => run.File,
            _ => null,
        };
        return Task.FromResult(path is not null && File.Exists(path)
            ? new ResultFile(Path.GetFileName(path), ResultFileKinds.ContentType(kind), _ => Task.FromResult<Stream>(File.OpenRead(path)))
            : null);
    }

    public void Dispose() => _readers.Dispose();

    private FolderRun? Find(string runId)
    {
        string? file;
        lock (_resultFiles)
        {
            _resultFiles.TryGetValue(runId, out file);
        }

        if (file is not null && File.Exists(file) && Document(file) is { } known && known.Summary.RunId == runId)
        {
            return known;
        }

        // Unknown here, or its file went: list the folder again.
        return Runs().FirstOrDefault(r => r.Summary.RunId == runId);
    }

    private IEnumerable<FolderRun> Runs()
    {
        foreach (string file in Directory.EnumerateFiles(_results, "*.json").Order(StringComparer.Ordinal))
        {
            if (Document(file) is { } run)
            {
                lock (_resultFiles)
                {
                    _resultFiles[run.Summary.RunId] = file;
                }

                yield return run;
            }
        }
    }

    // A result file read once per version of it (its last write time).
    private FolderRun? Document(string file)
    {
        DateTime written = File.GetLastWriteTimeUtc(file);
        lock (_documents)
        {
            if (!_documents.TryGetValue(file, out FolderRun? run) || run?.Written != written)
            {
                run = Read(file, written);
                _documents[file] = run;
            }

            return run;
        }
    }

    // A JSON file that is not a slide result (slides.csv's neighbours, a report) is not a run.
    private static FolderRun? Read(string file, DateTime written)
    {
        SlideResultFile result;
        try
        {
            result = SlideResultReader.Read(file);
        }
        catch (DeepSlideException)
        {
            return null;
        }

        if (string.IsNullOrEmpty(result.Slide) || result.Classes is null)
        {
            return null;
        }

        string status = result.Status switch
        {
            SlideStatus.Classified => "Completed",
            SlideStatus.NoTissue => "NoTissue",
            _ => "Failed",
        };
        var summary = new RunSummary(
            RunIdOf(result.Slide),
            SlideFileName(result),
            status,
            1,
            1,
            (result.Calls ?? []).Select(c => new RunCall(c.Method, c.Label, c.Scores, c.Note, c.Focus)).ToList(),
            new DateTimeOffset(written, TimeSpan.Zero),
            null,
            result.Error);
        return new FolderRun(summary, result, file, written);
    }

    private static string SlideFileName(SlideResultFile result) => result.Path is { Length: > 0 } p ? Path.GetFileName(p) : result.Slide;

    private string? SlideFile(SlideResultFile result)
    {
        string[] candidates = Directory.EnumerateFiles(_slides, "*", SearchOption.AllDirectories)
            .Where(f => SlideReader.SlideExtensions.Contains(Path.GetExtension(f)))
            .ToArray();
        string byName = SlideFileName(result);
        return candidates.FirstOrDefault(f => Path.GetFileName(f) == byName)
            ?? candidates.FirstOrDefault(f => Path.GetFileNameWithoutExtension(f) == result.Slide);
    }

    private sealed record FolderRun(RunSummary Summary, SlideResultFile Result, string File, DateTime Written);

    private sealed class LeasedSlide(SlideReaders.Lease lease) : ViewerSlide
    {
        public override ISlideReader Reader => lease.Reader;

        public override void Discard() => lease.Discard();

        public override void Dispose() => lease.Dispose();
    }
}
