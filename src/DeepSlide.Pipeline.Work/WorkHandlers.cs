using System.Diagnostics;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Models;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using DeepSlide.Visualization;

namespace DeepSlide.Pipeline.Work;

/// <summary>
/// A run's four steps as a worker does them, each writing its output whole to the results container, so a
/// redelivered piece rewrites the same blobs harmlessly. Each returns the notice the orchestration awaits. What the
/// model's manifest decides (tiling, aggregators, features) comes from <see cref="ClassificationSetup"/>, the code
/// <c>deepslide classify</c> uses. Everything that needs the slide (and so OpenSlide) or the model (and so ONNX
/// Runtime) happens here, in the worker, which keeps the Functions app free of native libraries.
/// </summary>
public sealed class WorkHandlers(PipelineStores stores, SlideCache slides, ModelCache models, string scratch) : IDisposable
{
    public static readonly ActivitySource Tracing = new(PipelineTelemetry.Worker);

    private readonly List<(string Blob, TilePlan Plan)> _plans = [];
    private readonly SlideReaders _readers = new();
    private readonly AggregateHandler _aggregate = new(stores, Path.Combine(scratch, "aggregate"));

    public Task<WorkCompletion> HandleAsync(WorkMessage message, CancellationToken cancellationToken = default) => message.Work.Kind switch
    {
        WorkKind.Plan => PlanAsync(message, cancellationToken),
        WorkKind.Range => ClassifyRangeAsync(message, cancellationToken),
        WorkKind.Aggregate => _aggregate.AggregateAsync(message, cancellationToken),
        WorkKind.Pictures => DrawPicturesAsync(message, cancellationToken),
        _ => throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"message {message.MessageId} asks for {message.Work}, which no handler does."),
    };

    public void Dispose() => _readers.Dispose();

    private async Task<WorkCompletion> PlanAsync(WorkMessage message, CancellationToken cancellationToken)
    {
        PatchClassifier classifier = await models.GetAsync(message.ModelPrefix, cancellationToken);
        TilingOptions tiling = ClassificationSetup.TilingFor(classifier.Manifest);
        TilePlan plan = await WithSlideAsync(message, reader => Task.FromResult(TilePlanner.Plan(reader, tiling)), cancellationToken);
        plan = plan with { SlidePath = message.SlideBlob };
        await using (var json = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TilePlanJson.Serialize(plan))))
        {
            await stores.Results.UploadAsync(message.PlanBlob, json, cancellationToken);
        }

        return Done(message, message.PlanBlob) with { PlannedTiles = plan.Tiles.Count };
    }

    private async Task<WorkCompletion> ClassifyRangeAsync(WorkMessage message, CancellationToken cancellationToken)
    {
        TilePlan plan = await ReadPlanAsync(message.PlanBlob, cancellationToken);
        TileRange range = message.Work.RangeTiles;
        if (range.End > plan.Tiles.Count)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, message.PlanBlob, $"{message.Work} is outside the plan's {plan.Tiles.Count} tiles.");
        }

        PatchClassifier classifier = await models.GetAsync(message.ModelPrefix, cancellationToken);
        bool keepFeatures = ClassificationSetup.For(classifier.Manifest).NeedsFeatures;
        IReadOnlyList<Tile> tiles = plan.TilesOf(range);
        PatchProbabilities patches = await WithSlideAsync(
            message,
            reader => SlideClassifier.ClassifyTilesAsync(reader, classifier, plan, tiles, keepFeatures, cancellationToken: cancellationToken),
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
            return Done(message, blob) with { Patches = tiles.Count };
        }
        finally
        {
            File.Delete(local);
            File.Delete(local + ".features");
        }
    }

    private async Task<WorkCompletion> DrawPicturesAsync(WorkMessage message, CancellationToken cancellationToken)
    {
        TilePlan plan = await ReadPlanAsync(message.PlanBlob, cancellationToken);
        PatchClassifier classifier = await models.GetAsync(message.ModelPrefix, cancellationToken);
        string parquet = Scratch(".parquet");
        string folder = Scratch(string.Empty);
        try
        {
            await PipelineStores.DownloadCurrentAsync(stores.Results, RunBlobs.Patches(message.RunId), parquet, "the merged patch predictions are not stored.", cancellationToken: cancellationToken);
            PatchProbabilities patches = await PatchParquet.ReadProbabilitiesAsync(parquet, classifier.Manifest.Classes, cancellationToken);
            var result = new SlideResult(message.SlideBlob, SlideStatus.Classified, plan, patches, [], classifier.ExecutionProvider, 0);
            IReadOnlyList<string> files = await WithSlideAsync(message, reader => Task.FromResult(ResultPictures.Write(reader, result, folder)), cancellationToken);
            string prefix = RunBlobs.Pictures(message.RunId);
            foreach (string file in files)
            {
                await PipelineStores.UploadFileAsync(stores.Results, $"{prefix}/{Path.GetRelativePath(folder, file).Replace('\\', '/')}", file, cancellationToken);
            }

            return Done(message, prefix) with { Files = files.Count };
        }
        finally
        {
            File.Delete(parquet);
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    internal static WorkCompletion Done(WorkMessage message, string outputBlob) => new(message.RunId, message.Work, true, outputBlob, null);

    private async Task<T> WithSlideAsync<T>(WorkMessage message, Func<ISlideReader, Task<T>> use, CancellationToken cancellationToken)
    {
        string slidePath = await slides.GetAsync(message.SlideBlob, message.SlideETag, cancellationToken);
        try
        {
            using SlideReaders.Lease lease = _readers.Open(slidePath);
            return await use(lease.Reader);
        }
        catch (DeepSlideException ex) when (ex.Path == slidePath)
        {
            // The local cache file means nothing to the lab: name the slide as they uploaded it.
            throw new DeepSlideException(ex.Reason, message.SlideBlob, ex.Problem, ex);
        }
    }

    // A run's plan is written once, by its plan step, and then read by every range: keep the last few in memory.
    private async Task<TilePlan> ReadPlanAsync(string blob, CancellationToken cancellationToken)
    {
        lock (_plans)
        {
            if (_plans.FirstOrDefault(p => p.Blob == blob) is { Plan: { } cached })
            {
                return cached;
            }
        }

        TilePlan plan = TilePlanJson.Deserialize((await PipelineStores.ReadTextAsync(stores.Results, blob, Path.Combine(scratch, "text"), cancellationToken: cancellationToken)).Text, blob);
        lock (_plans)
        {
            _plans.Insert(0, (blob, plan));
            if (_plans.Count > 8)
            {
                _plans.RemoveAt(_plans.Count - 1);
            }
        }

        return plan;
    }

    private string Scratch(string extension)
    {
        Directory.CreateDirectory(scratch);
        return Path.Combine(scratch, $"{Guid.NewGuid():N}{extension}");
    }
}
