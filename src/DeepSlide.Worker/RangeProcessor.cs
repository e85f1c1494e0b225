using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Pipeline;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Tiling;

namespace DeepSlide.Worker;

/// <summary>What a worker wrote for a range: the Parquet blob of its patch predictions.</summary>
public sealed record RangeOutput(string RunId, int Range, string Blob, int Patches);

/// <summary>
/// One tile range, end to end on a worker: the plan and the slide (by ETag, through the local cache) and the model
/// from blob storage, the range's patches classified, and their predictions written whole to
/// <c>runs/{runId}/ranges/{range}.parquet</c>, so a redelivered range rewrites the same blob harmlessly.
/// </summary>
public sealed class RangeProcessor(IBlobStore store, SlideCache slides, ModelCache models, string scratch)
{
    public static string OutputBlob(string runId, int range) => $"runs/{runId}/ranges/{range:D5}.parquet";

    public async Task<RangeOutput> ProcessAsync(TileRangeMessage message, CancellationToken cancellationToken = default)
    {
        TilePlan plan = await ReadPlanAsync(message.PlanBlob, cancellationToken);
        if (message.Start < 0 || message.Count < 0 || message.Start + message.Count > plan.Tiles.Count)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.InvalidArgument,
                message.PlanBlob,
                $"range {message.Range} covers tiles {message.Start}..{message.Start + message.Count}, but the plan has {plan.Tiles.Count}.");
        }

        string slidePath = await slides.GetAsync(message.SlideBlob, message.SlideETag, cancellationToken);
        PatchClassifier classifier = await models.GetAsync(message.ModelPrefix, cancellationToken);
        IReadOnlyList<Tile> tiles = plan.TilesOf(new TileRange(message.Range, message.Start, message.Count));
        PatchProbabilities patches;
        try
        {
            using ISlideReader reader = SlideReader.Open(slidePath);
            patches = await SlideClassifier.ClassifyTilesAsync(reader, classifier, plan, tiles, cancellationToken: cancellationToken);
        }
        catch (DeepSlideException ex) when (ex.Path == slidePath)
        {
            // The local cache file means nothing to the lab: name the slide as they uploaded it.
            throw new DeepSlideException(ex.Reason, message.SlideBlob, ex.Problem, ex);
        }

        Directory.CreateDirectory(scratch);
        string local = Path.Combine(scratch, $"{Guid.NewGuid():N}.parquet");
        try
        {
            await PatchParquet.WriteAsync(tiles, patches, local, cancellationToken);
            string blob = OutputBlob(message.RunId, message.Range);
            await using (var stream = File.OpenRead(local))
            {
                await store.UploadAsync(blob, stream, cancellationToken);
            }

            return new RangeOutput(message.RunId, message.Range, blob, tiles.Count);
        }
        finally
        {
            File.Delete(local);
        }
    }

    private async Task<TilePlan> ReadPlanAsync(string blob, CancellationToken cancellationToken)
    {
        BlobVersion version = await store.GetVersionAsync(blob, cancellationToken)
            ?? throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, blob, "the tile plan is not stored.");
        Directory.CreateDirectory(scratch);
        string local = Path.Combine(scratch, $"{Guid.NewGuid():N}.json");
        try
        {
            await store.DownloadAsync(blob, version.ETag, local, cancellationToken);
            return TilePlanJson.Deserialize(await File.ReadAllTextAsync(local, cancellationToken), blob);
        }
        finally
        {
            File.Delete(local);
        }
    }
}
