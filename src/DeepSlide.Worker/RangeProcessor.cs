using System.Diagnostics;
using System.Runtime.InteropServices;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Pipeline;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using DeepSlide.Visualization;

namespace DeepSlide.Worker;

/// <summary>What a worker wrote: the output blob (a plan, a range's Parquet, the pictures folder) and its count.</summary>
public sealed record RangeOutput(string RunId, int Range, string Blob, int Patches);

/// <summary>
/// One piece of a run, end to end on a worker, with the slide (by ETag, through the local cache) and the model from
/// blob storage. A plan writes the tissue mask and tile plan; a range classifies its patches and writes their
/// predictions whole to <see cref="RunBlobs.Range"/>, so a redelivered range rewrites the same blob harmlessly; the
/// pictures are drawn from the merged predictions. Everything that needs the slide (and so OpenSlide) happens here,
/// in the worker's container, which keeps the Functions app free of native slide libraries.
/// </summary>
public sealed class RangeProcessor(PipelineStores stores, SlideCache slides, ModelCache models, string scratch) : IDisposable
{
    public static readonly ActivitySource Tracing = new(PipelineTelemetry.Worker);

    private readonly List<(string Blob, TilePlan Plan)> _plans = [];
    private readonly SlideReaders _readers = new();

    public static string OutputBlob(string runId, int range) => RunBlobs.Range(runId, range);

    public Task<RangeOutput> ProcessAsync(TileRangeMessage message, CancellationToken cancellationToken = default) => message.Kind switch
    {
        WorkKind.Plan => PlanAsync(message, cancellationToken),
        WorkKind.Range => ClassifyRangeAsync(message, cancellationToken),
        WorkKind.Pictures => DrawPicturesAsync(message, cancellationToken),
        _ => throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"message {message.MessageId} asks for '{message.Kind}', which is not plan, range or pictures."),
    };

    private async Task<RangeOutput> PlanAsync(TileRangeMessage message, CancellationToken cancellationToken)
    {
        PatchClassifier classifier = await models.GetAsync(message.ModelPrefix, cancellationToken);
        var manifest = classifier.Manifest;
        var tiling = new TilingOptions { Window = manifest.Input.Size, Resolution = manifest.Patch.Resolution, TissueMethod = manifest.Patch.Tissue };
        TilePlan plan = await WithSlideAsync(message, reader => Task.FromResult(TilePlanner.Plan(reader, tiling)), cancellationToken);
        plan = plan with { SlidePath = message.SlideBlob };
        await using (var json = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TilePlanJson.Serialize(plan))))
        {
            await stores.Results.UploadAsync(message.PlanBlob, json, cancellationToken);
        }

        return new RangeOutput(message.RunId, message.Range, message.PlanBlob, plan.Tiles.Count);
    }

    private async Task<RangeOutput> ClassifyRangeAsync(TileRangeMessage message, CancellationToken cancellationToken)
    {
        TilePlan plan = await ReadPlanAsync(message.PlanBlob, cancellationToken);
        if (message.Start < 0 || message.Count < 0 || message.Start + message.Count > plan.Tiles.Count)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.InvalidArgument,
                message.PlanBlob,
                $"range {message.Range} covers tiles {message.Start}..{message.Start + message.Count}, but the plan has {plan.Tiles.Count}.");
        }

        PatchClassifier classifier = await models.GetAsync(message.ModelPrefix, cancellationToken);
        bool keepFeatures = Aggregators.FromManifest(classifier.Manifest).Any(a => a.NeedsFeatures);
        IReadOnlyList<Tile> tiles = plan.TilesOf(new TileRange(message.Range, message.Start, message.Count));
        PatchProbabilities patches = await WithSlideAsync(
            message,
            reader => SlideClassifier.ClassifyTilesAsync(reader, classifier, plan, tiles, keepFeatures, cancellationToken: cancellationToken),
            cancellationToken);

        string blob = RunBlobs.Range(message.RunId, message.Range);
        string local = Scratch(".parquet");
        try
        {
            await PatchParquet.WriteAsync(tiles, patches, local, cancellationToken);
            if (patches.Features is { } features)
            {
                await using (FileStream file = File.Create(local + ".features"))
                {
                    file.Write(MemoryMarshal.AsBytes(features.AsSpan()));
                }

                await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.RangeFeatures(message.RunId, message.Range), local + ".features", cancellationToken);
            }

            // The Parquet goes last: once it exists, the range's outputs are whole.
            await PipelineStores.UploadFileAsync(stores.Results, blob, local, cancellationToken);
            return new RangeOutput(message.RunId, message.Range, blob, tiles.Count);
        }
        finally
        {
            File.Delete(local);
            File.Delete(local + ".features");
        }
    }

    private async Task<RangeOutput> DrawPicturesAsync(TileRangeMessage message, CancellationToken cancellationToken)
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

            return new RangeOutput(message.RunId, message.Range, prefix, files.Count);
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

    public void Dispose() => _readers.Dispose();

    private async Task<T> WithSlideAsync<T>(TileRangeMessage message, Func<ISlideReader, Task<T>> use, CancellationToken cancellationToken)
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
