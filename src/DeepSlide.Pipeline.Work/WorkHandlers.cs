using DeepSlide.Pipeline.Slides;
using System.Diagnostics;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Models;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Slides.Tiff;
using DeepSlide.Tissue;
using DeepSlide.Tiling;
using DeepSlide.Visualization;
using Microsoft.Extensions.Caching.Memory;

namespace DeepSlide.Pipeline.Work;

/// <summary>
/// A run's three steps as a worker does them (plan, classify a range, aggregate and draw the pictures), each writing
/// its output whole to the results container, so a redelivered piece rewrites the same blobs harmlessly. Each
/// returns the notice the orchestration awaits. What the model's manifest decides (tiling, aggregators, features)
/// comes from <see cref="ClassificationSetup"/>, the code <c>deepslide classify</c> uses. Everything that needs the slide (and so OpenSlide) or the model (and so ONNX
/// Runtime) happens here, in the worker, which keeps the Functions app free of native libraries.
/// </summary>
public sealed class WorkHandlers(PipelineStores stores, SparseSlides slides, ModelCache models, string scratch) : IDisposable
{
    public static readonly ActivitySource Tracing = new(PipelineTelemetry.Worker);

    // A run's plan is written once, by its plan step, and then read by every range: the last few stay in memory.
    private readonly MemoryCache _plans = new(new MemoryCacheOptions { SizeLimit = 8 });
    private readonly SlideReaders _readers = new();
    private const string MissingOutput = "a completed range's output is not stored.";

    private const int ParallelDownloads = 8;

    /// <summary>
    /// Called as a piece makes headway (a batch of patches classified, a range's output read, a picture stored): the
    /// worker's health comes from this, not from its lock renewals, which go on while a handler hangs.
    /// </summary>
    public Action? Progressed { get; init; }

    public Task<WorkCompletion> HandleAsync(WorkMessage message, CancellationToken cancellationToken = default) => message.Work.Kind switch
    {
        WorkKind.Plan => PlanAsync(message, cancellationToken),
        WorkKind.Range => ClassifyRangeAsync(message, cancellationToken),
        WorkKind.Aggregate => AggregateAsync(message, cancellationToken),
        _ => throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"message {message.MessageId} asks for {message.Work}, which no handler does."),
    };

    public void Dispose()
    {
        _readers.Dispose();
        _plans.Dispose();
    }

    private async Task<WorkCompletion> PlanAsync(WorkMessage message, CancellationToken cancellationToken)
    {
        // The model version is fixed here, for the whole run: every later piece loads this version or fails. A late
        // duplicate of the plan step keeps the version the stored plan already pins, so it cannot switch a run in flight.
        string? pinned = await stores.Results.GetVersionAsync(message.PlanBlob, cancellationToken) is null ? null : (await ReadPlanAsync(message.PlanBlob, cancellationToken)).ModelVersion;
        using ModelLease model = await models.GetAsync(message.ModelPrefix, pinned, cancellationToken);
        TilingOptions tiling = ClassificationSetup.TilingFor(model.Classifier.Manifest);
        (TilePlan plan, SlideRead read) = await WithSlideAsync(message, ForPlan(model.Classifier.Manifest), reader => Task.FromResult(TilePlanner.Plan(reader, tiling)), cancellationToken);
        plan = plan with { SlidePath = message.SlideBlob };
        await using (var json = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TilePlanJson.Serialize(plan, model.Version))))
        {
            await stores.Results.UploadAsync(message.PlanBlob, json, cancellationToken);
        }

        return Done(message, message.PlanBlob, read) with { PlannedTiles = plan.Tiles.Count };
    }

    private async Task<WorkCompletion> ClassifyRangeAsync(WorkMessage message, CancellationToken cancellationToken)
    {
        (TilePlan plan, string? modelVersion) = await ReadPlanAsync(message.PlanBlob, cancellationToken);
        TileRange range = message.Work.RangeTiles;
        if (range.End > plan.Tiles.Count)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, message.PlanBlob, $"{message.Work} is outside the plan's {plan.Tiles.Count} tiles.");
        }

        using ModelLease model = await models.GetAsync(message.ModelPrefix, modelVersion, cancellationToken);
        PatchClassifier classifier = model.Classifier;
        bool keepFeatures = ClassificationSetup.For(classifier.Manifest).NeedsFeatures;
        IReadOnlyList<Tile> tiles = plan.TilesOf(range);
        (PatchProbabilities patches, SlideRead read) = await WithSlideAsync(
            message,
            TilesOf(plan, tiles),
            reader => SlideClassifier.ClassifyTilesAsync(reader, classifier, plan, tiles, keepFeatures, (_, _) => Progressed?.Invoke(), model.Confirmation, cancellationToken),
            cancellationToken);

        string blob = RunBlobs.Range(message.RunId, range.Index);
        string local = Scratch(".parquet");
        try
        {
            await PatchParquet.WriteAsync(tiles, patches, local, cancellationToken);
            if (patches.Features is { } features)
            {
                await PatchFeaturesFile.WriteAsync(features, local + ".features", cancellationToken);
                await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.RangeFeatures(message.RunId, range.Index), local + ".features", cancellationToken);
            }

            // The Parquet goes last: once it exists, the range's outputs are whole.
            await PipelineStores.UploadFileAsync(stores.Results, blob, local, cancellationToken);
            return Done(message, blob, read) with { Patches = tiles.Count };
        }
        finally
        {
            File.Delete(local);
            File.Delete(local + ".features");
        }
    }

    /// <summary>
    /// Reads every range's Parquet (and features, for models whose aggregators need them) in range order, so the
    /// merged predictions are row for row the ones <c>deepslide classify</c> makes; runs each aggregator of the
    /// manifest; writes the merged patches and the result JSON; and draws the pictures (thumbnail, overlay, heatmaps,
    /// tissue mask, QuPath GeoJSON) from the result in hand. One step, not two: a separate pictures step would fetch
    /// the merged patches again and load the plan, the manifest and the slide again, one more queue round trip later.
    /// </summary>
    private async Task<WorkCompletion> AggregateAsync(WorkMessage message, CancellationToken cancellationToken)
    {
        using Activity? span = Tracing.StartActivity("aggregate", ActivityKind.Internal);
        span?.SetTag("deepslide.run_id", message.RunId);
        (TilePlan plan, string? modelVersion) = await ReadPlanAsync(message.PlanBlob, cancellationToken);
        ModelManifest manifest = await models.GetManifestAsync(message.ModelPrefix, modelVersion, Path.Combine(scratch, "text"), cancellationToken);
        var setup = ClassificationSetup.For(manifest);
        int patchCount = plan.Tiles.Count;
        IReadOnlyList<TileRange> ranges = TileRange.Split(patchCount, message.RangeSize);

        int classes = manifest.Classes.Count;
        var values = new float[patchCount * classes];
        // The MIL model says how wide its features are: a bring-your-own backbone need not give ResNet-18's 512.
        int featureCount = manifest.Aggregation.Mil is { Features: > 0 } mil ? mil.Features : ResNetBackbone.FeatureCount;
        float[]? features = setup.NeedsFeatures ? new float[patchCount * featureCount] : null;
        string local = Scratch(string.Empty);
        try
        {
            // The ranges' outputs are fetched several at once: in Azure each blob read is a round trip of tens of
            // milliseconds, and a slide has up to 500 ranges (twice that with features). Each writes its own slice.
            await Parallel.ForEachAsync(
                ranges,
                new ParallelOptions { MaxDegreeOfParallelism = ParallelDownloads, CancellationToken = cancellationToken },
                async (range, token) =>
                {
                    string file = Scratch(string.Empty);
                    try
                    {
                        string blob = RunBlobs.Range(message.RunId, range.Index);
                        await PipelineStores.DownloadCurrentAsync(stores.Results, blob, file, MissingOutput, cancellationToken: token);
                        PatchProbabilities part = await PatchParquet.ReadProbabilitiesAsync(file, manifest.Classes, token);
                        if (part.Count != range.Count)
                        {
                            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, blob, $"range {range.Index} has {part.Count} patches; the plan gives it {range.Count}.");
                        }

                        part.Values.CopyTo(values.AsSpan(range.Start * classes));
                        Progressed?.Invoke();
                        if (features is not null)
                        {
                            string featuresBlob = RunBlobs.RangeFeatures(message.RunId, range.Index);
                            await PipelineStores.DownloadCurrentAsync(stores.Results, featuresBlob, file, MissingOutput, cancellationToken: token);
                            await PatchFeaturesFile.ReadAsync(file, featuresBlob, range.Count, featureCount, features, range.Start, token);
                        }
                    }
                    finally
                    {
                        File.Delete(file);
                    }
                });

            var patches = new PatchProbabilities(manifest.Classes, values) { Features = features, Grid = [.. plan.Tiles.Select(t => (t.Column, t.Row))] };
            IReadOnlyList<SlideCall> calls = setup.Aggregators.Select(a => a.Aggregate(patches)).ToList();
            ConfirmedCalls? confirmed = null;
            if (manifest.Onnx.Confirm is { } confirm)
            {
                // As classify does: a slide whose int8 calls a push of the margin could move is classified again whole,
                // here, by the bundle's FP32 graph. The ranges have already done the unsure patches.
                IReadOnlyList<string> unsure = CallStability.Unsure(patches, setup.Aggregators, calls, confirm.Margin);
                confirmed = new ConfirmedCalls(null, unsure, confirm.PatchMargin, confirm.Margin);
                if (unsure.Count > 0)
                {
                    using ModelLease model = await models.GetAsync(message.ModelPrefix, modelVersion, cancellationToken);
                    PatchClassifier fp32 = model.Confirmation?.Classifier
                        ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, message.ModelPrefix, "the manifest names an FP32 graph to confirm with, but none was loaded.");
                    (PatchProbabilities again, _) = await WithSlideAsync(
                        message, TilesOf(plan, plan.Tiles), reader => SlideClassifier.ClassifyTilesAsync(reader, fp32, plan, plan.Tiles, setup.NeedsFeatures, cancellationToken: cancellationToken), cancellationToken);
                    patches = again;
                    calls = [.. setup.Aggregators.Select(a => a.Aggregate(again))];
                }
            }

            var result = new SlideResult(message.SlideBlob, SlideStatus.Classified, plan, patches, calls, "pipeline", 0) { ClassColours = manifest.ColourMap(), Confirmed = confirmed };

            await PatchParquet.WriteAsync(result, local, cancellationToken);
            await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.Patches(message.RunId), local, cancellationToken);
            await File.WriteAllTextAsync(local, ResultFiles.ToJson(result), cancellationToken);
            await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.Result(message.RunId), local, cancellationToken);
            (int pictures, SlideRead read) = await DrawPicturesAsync(message, plan, result, cancellationToken);

            var slideCalls = new SlideCalls(
                calls.Select(c => new StoredCall(c.Method, c.Label, manifest.Classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => c.Scores[p.i]), c.Note) { Focus = c.Focus }).ToList(),
                new RunModel(message.ModelPrefix, message.ModelPrefix, modelVersion, manifest.Onnx.Sha256, manifest.Classes),
                new Dictionary<string, string> { ["patches"] = RunBlobs.Patches(message.RunId), ["result"] = RunBlobs.Result(message.RunId) });
            return Done(message, RunBlobs.Result(message.RunId), read) with { Patches = patchCount, Calls = slideCalls, Files = pictures };
        }
        finally
        {
            File.Delete(local);
        }
    }

    /// <summary>The pictures of a classified slide, stored under the run's pictures prefix; how many, and what reading the slide took.</summary>
    private async Task<(int Files, SlideRead Read)> DrawPicturesAsync(WorkMessage message, TilePlan plan, SlideResult result, CancellationToken cancellationToken)
    {
        string folder = Scratch(string.Empty);
        try
        {
            (IReadOnlyList<string> files, SlideRead read) = await WithSlideAsync(message, ForPictures(plan), reader => Task.FromResult(ResultPictures.Write(reader, result, folder)), cancellationToken);
            string prefix = RunBlobs.Pictures(message.RunId);
            foreach (string file in files)
            {
                await PipelineStores.UploadFileAsync(stores.Results, $"{prefix}/{Path.GetRelativePath(folder, file).Replace('\\', '/')}", file, cancellationToken);
                Progressed?.Invoke();
            }

            return (files.Count, read);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    internal static WorkCompletion Done(WorkMessage message, string outputBlob, SlideRead? read = null) =>
        new(message.RunId, message.Work, true, outputBlob, null)
        {
            SlideBytesFetched = read?.BytesFetched ?? 0,
            SlideBytes = read?.SlideBytes ?? 0,
            WholeSlideBecause = read?.WholeBecause,
            FetchSeconds = Math.Round(read?.Seconds ?? 0, 3),
        };

    /// <summary>
    /// What a step that reads the whole slide at <paramref name="downsample"/> reads: the level OpenSlide picks for it
    /// (the coarsest whose downsample is at most that) and every coarser one, and the associated images; null (the
    /// whole slide) when that is the full resolution. The level is taken with 1% to spare, so a file whose rounded
    /// downsamples differ slightly from the map's widths still has OpenSlide's choice among the levels fetched.
    /// </summary>
    private static Func<TiffByteMap, IEnumerable<(long Offset, long Length)>?> AtDownsample(double downsample) => map =>
    {
        IReadOnlyList<TiffDataLayout> levels = map.Levels;
        int from = 0;
        for (int i = 1; i < levels.Count; i++)
        {
            if ((double)levels[0].Width / levels[i].Width <= downsample * 0.99)
            {
                from = i;
            }
        }

        return from == 0
            ? null
            : levels.Skip(from).Concat(map.Directories.Where(d => !d.IsTiled)).SelectMany(d => d.All()).ToList();
    };

    /// <summary>The plan step reads its tissue mask at no less than a sixteenth of the window (TilePlanner).</summary>
    private static Func<TiffByteMap, IEnumerable<(long Offset, long Length)>?> ForPlan(ModelManifest manifest) =>
        AtDownsample(manifest.Input.Size / (double)PurpleRule.CellsPerSide);

    /// <summary>The pictures step reads a thumbnail of <see cref="PictureOptions"/>' default size, 2,000 px.</summary>
    private static Func<TiffByteMap, IEnumerable<(long Offset, long Length)>?> ForPictures(TilePlan plan) =>
        AtDownsample(Math.Max(1.0, Math.Max(plan.SlideWidth, plan.SlideHeight) / (double)new PictureOptions().Size));

    /// <summary>
    /// What a range reads: the TIFF tiles under its patches at the plan's level (two pixels around each, for
    /// OpenSlide's rounding), and the smallest level, which OpenSlide reads whole when it opens a slide (its quickhash).
    /// </summary>
    private static Func<TiffByteMap, IEnumerable<(long Offset, long Length)>?> TilesOf(TilePlan plan, IReadOnlyList<Tile> tiles) => map =>
    {
        IReadOnlyList<TiffDataLayout> levels = map.Levels;
        double ds = plan.LevelDownsample;
        TiffDataLayout? level = levels.FirstOrDefault(d => Math.Abs((d.Width * ds) - plan.SlideWidth) <= ds + 1);
        if (level is null || levels.Count == 0)
        {
            return null;
        }

        double side = plan.TileSizeAtLevel0 / ds;
        IEnumerable<(long, long)> under = tiles.SelectMany(t => level.TilesCovering(
            (long)Math.Floor(t.X / ds) - 2,
            (long)Math.Floor(t.Y / ds) - 2,
            (long)Math.Ceiling((t.X / ds) + side) + 2,
            (long)Math.Ceiling((t.Y / ds) + side) + 2));
        return under.Concat(levels[^1].All()).ToList();
    };

    private async Task<(T Result, SlideRead Read)> WithSlideAsync<T>(
        WorkMessage message,
        Func<TiffByteMap, IEnumerable<(long Offset, long Length)>?>? need,
        Func<ISlideReader, Task<T>> use,
        CancellationToken cancellationToken)
    {
        SlideRead read = await slides.GetAsync(message.SlideBlob, message.SlideETag, need, cancellationToken);
        string slidePath = read.Path;
        try
        {
            using SlideReaders.Lease lease = _readers.Open(slidePath);
            try
            {
                return (await use(lease.Reader), read);
            }
            catch (DeepSlideException)
            {
                lease.Discard();
                throw;
            }
        }
        catch (DeepSlideException ex) when (ex.Path == slidePath)
        {
            // The local cache file means nothing to the lab: name the slide as they uploaded it.
            throw new DeepSlideException(ex.Reason, message.SlideBlob, ex.Problem, ex);
        }
    }

    private async Task<RunPlan> ReadPlanAsync(string blob, CancellationToken cancellationToken)
    {
        if (_plans.TryGetValue(blob, out RunPlan? cached))
        {
            return cached!;
        }

        (TilePlan tiles, string? modelVersion) = TilePlanJson.DeserializeWithModel((await PipelineStores.ReadTextAsync(stores.Results, blob, Path.Combine(scratch, "text"), cancellationToken: cancellationToken)).Text, blob);
        return _plans.Set(blob, new RunPlan(tiles, modelVersion), new MemoryCacheEntryOptions { Size = 1 });
    }

    private string Scratch(string extension)
    {
        Directory.CreateDirectory(scratch);
        return Path.Combine(scratch, $"{Guid.NewGuid():N}{extension}");
    }
}

/// <summary>A run's plan and the model version it pins (null for plans stored before runs were pinned: the stored version).</summary>
internal sealed record RunPlan(TilePlan Plan, string? ModelVersion);
