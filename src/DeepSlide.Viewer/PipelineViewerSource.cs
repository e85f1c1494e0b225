using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.Slides;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Slides.Tiff;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Viewer;

/// <summary>
/// The pipeline's runs (the local stack and Azure): run documents from the results store, their outputs from the
/// <c>results</c> container, and the slide from <c>slides</c> through the workers' ranged reads, pinned to the ETag the
/// run used. A tile fetches only the TIFF tiles under it; no slide is downloaded whole (unless its format cannot be
/// mapped, as for the workers) and no pyramid is made ahead of time.
/// </summary>
public sealed class PipelineViewerSource(CosmosSlideRunStore runs, PipelineStores stores, SparseSlides slides, string scratch) : IViewerSource, IDisposable
{
    private readonly SparseSlides _slides = slides;
    private readonly SlideReaders _readers = new();
    private readonly Dictionary<string, string> _slideIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task<RunResults?>> _results = new(StringComparer.Ordinal);

    // A run's slide version never changes, so a tile asks the results store nothing.
    private readonly Dictionary<string, SlideRun> _slideOf = new(StringComparer.Ordinal);
    private long _slideBytesFetched;

    /// <summary>Bytes of slides fetched from blob storage so far (structure, tiles and whole downloads).</summary>
    public long SlideBytesFetched => Interlocked.Read(ref _slideBytesFetched);

    public async Task<IReadOnlyList<RunSummary>> ListRunsAsync(CancellationToken cancellationToken = default) =>
        (await ListAsync(cancellationToken)).Select(Summary).ToList();

    public async Task<RunSummary?> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        await FindAsync(runId, cancellationToken) is { } run ? Summary(run) : null;

    public async Task<RunResults?> GetResultsAsync(string runId, CancellationToken cancellationToken = default)
    {
        if (await FindAsync(runId, cancellationToken) is not { Status: RunStatus.Completed } run)
        {
            return null;
        }

        Task<RunResults?> load;
        lock (_results)
        {
            if (!_results.TryGetValue(runId, out load!) || load.IsFaulted || load.IsCanceled)
            {
                // A few slides' patches are kept; a viewer left open for months does not keep every run ever shown.
                if (_results.Count >= 16)
                {
                    _results.Remove(_results.Keys.First());
                }

                load = LoadAsync(run, CancellationToken.None);
                _results[runId] = load;
            }
        }

        return await load.WaitAsync(cancellationToken);
    }

    public async Task<ViewerSlide?> OpenSlideAsync(string runId, CancellationToken cancellationToken = default)
    {
        SlideRun? run;
        lock (_slideOf)
        {
            _slideOf.TryGetValue(runId, out run);
        }

        if (run is null)
        {
            if ((run = await FindAsync(runId, cancellationToken)) is null)
            {
                return null;
            }

            lock (_slideOf)
            {
                _slideOf[runId] = run;
            }
        }

        // Opening reads the structure and the smallest level, as OpenSlide does when it opens a file.
        SlideRead read = await _slides.GetAsync(run.SlideBlob, run.SlideETag, map => map.Levels.Count == 0 ? null : map.Levels[^1].All(), cancellationToken);
        Interlocked.Add(ref _slideBytesFetched, read.BytesFetched);
        return new SparseSlide(this, run, _readers.Open(read.Path));
    }

    public async Task<ResultFile?> OpenFileAsync(string runId, string kind, CancellationToken cancellationToken = default)
    {
        if (await FindAsync(runId, cancellationToken) is not { Status: RunStatus.Completed } run)
        {
            return null;
        }

        string? blob = kind switch
        {
            ResultFileKinds.QuPath => $"{RunBlobs.Pictures(runId)}/qupath/{Path.GetFileNameWithoutExtension(run.SlideBlob)}.geojson",
            ResultFileKinds.Parquet => RunBlobs.Patches(runId),
            ResultFileKinds.Json => RunBlobs.Result(runId),
            _ => null,
        };
        if (blob is null || await stores.Results.GetVersionAsync(blob, cancellationToken) is not { } version)
        {
            return null;
        }

        string name = Path.GetFileNameWithoutExtension(run.SlideBlob) + kind switch
        {
            ResultFileKinds.QuPath => ".geojson",
            ResultFileKinds.Parquet => ".parquet",
            _ => ".json",
        };
        return new ResultFile(name, ResultFileKinds.ContentType(kind), async token =>
        {
            string local = Scratch(kind);
            await stores.Results.DownloadAsync(blob, version.ETag, local, token);
            return new FileStream(local, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, FileOptions.DeleteOnClose);
        });
    }

    public void Dispose() => _readers.Dispose();

    private static RunSummary Summary(SlideRun run) => new(
        run.Id,
        run.SlideBlob,
        run.Status,
        run.RangesDone,
        run.RangesTotal,
        run.Calls.Select(c => new RunCall(c.Method, c.Label, c.Scores, c.Note, c.Focus)).ToList(),
        run.UpdatedUtc,
        run.Model is { } model ? $"{model.Prefix} ({model.Version})" : run.ModelPrefix,
        run.Error);

    private async Task<IReadOnlyList<SlideRun>> ListAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<SlideRun> all = await runs.ListAllAsync(cancellationToken);
        lock (_slideIds)
        {
            foreach (SlideRun run in all)
            {
                _slideIds[run.Id] = run.SlideId;
            }
        }

        return all;
    }

    // A run is read from its slide's partition; its slide id is learnt from a listing, refreshed when a run is unknown.
    private async Task<SlideRun?> FindAsync(string runId, CancellationToken cancellationToken)
    {
        string? slideId;
        lock (_slideIds)
        {
            _slideIds.TryGetValue(runId, out slideId);
        }

        if (slideId is null)
        {
            IReadOnlyList<SlideRun> all = await ListAsync(cancellationToken);
            return all.FirstOrDefault(r => r.Id == runId);
        }

        return await runs.GetAsync(slideId, runId, cancellationToken);
    }

    private async Task<RunResults?> LoadAsync(SlideRun run, CancellationToken cancellationToken)
    {
        (string resultText, _) = await PipelineStores.ReadTextAsync(stores.Results, RunBlobs.Result(run.Id), Scratch("text"), cancellationToken: cancellationToken);
        SlideResultFile result = SlideResultReader.Parse(resultText, RunBlobs.Result(run.Id));
        TissueMask? mask = null;
        if (await stores.Results.GetVersionAsync(RunBlobs.Plan(run.Id), cancellationToken) is not null)
        {
            (string planText, _) = await PipelineStores.ReadTextAsync(stores.Results, RunBlobs.Plan(run.Id), Scratch("text"), cancellationToken: cancellationToken);
            mask = TilePlanJson.Deserialize(planText, RunBlobs.Plan(run.Id)).Mask;
        }

        string parquet = Scratch("parquet");
        try
        {
            BlobVersion patches = await stores.Results.GetVersionAsync(RunBlobs.Patches(run.Id), cancellationToken)
                ?? throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, RunBlobs.Patches(run.Id), "the run's patch predictions are not stored.");
            await stores.Results.DownloadAsync(patches.Name, patches.ETag, parquet, cancellationToken);
            return await RunResults.LoadAsync(result, parquet, mask, cancellationToken);
        }
        finally
        {
            File.Delete(parquet);
        }
    }

    private string Scratch(string extension)
    {
        Directory.CreateDirectory(scratch);
        return Path.Combine(scratch, $"{Guid.NewGuid():N}.{extension}");
    }

    private sealed class SparseSlide(PipelineViewerSource owner, SlideRun run, SlideReaders.Lease lease) : ViewerSlide
    {
        public override ISlideReader Reader => lease.Reader;

        /// <summary>Fetches the TIFF tiles under the region at the level read (two pixels around it, for OpenSlide's rounding).</summary>
        public override async Task EnsureAsync(DeepZoomRead read, CancellationToken cancellationToken = default)
        {
            SlideLevel level = lease.Reader.Info.Levels[read.SlideLevel];
            SlideRead fetched = await owner._slides.GetAsync(
                run.SlideBlob,
                run.SlideETag,
                map =>
                {
                    TiffDataLayout? layout = map.Levels.FirstOrDefault(d => d.Width == level.Width && d.Height == level.Height);
                    if (layout is null)
                    {
                        return null;
                    }

                    long x = (long)Math.Floor(read.X / level.Downsample);
                    long y = (long)Math.Floor(read.Y / level.Downsample);
                    return layout.TilesCovering(x - 2, y - 2, x + read.ReadWidth + 2, y + read.ReadHeight + 2).Concat(map.Levels[^1].All()).ToList();
                },
                cancellationToken);
            Interlocked.Add(ref owner._slideBytesFetched, fetched.BytesFetched);
        }

        public override void Discard() => lease.Discard();

        public override void Dispose() => lease.Dispose();
    }
}
