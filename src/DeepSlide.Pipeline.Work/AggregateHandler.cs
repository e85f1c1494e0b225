using System.Diagnostics;
using DeepSlide.Aggregation;
using DeepSlide.Inference.Onnx;
using DeepSlide.Models;
using DeepSlide.Results;
using DeepSlide.Tiling;

namespace DeepSlide.Pipeline.Work;

/// <summary>
/// The aggregate step: reads every range's Parquet (and features, for models whose aggregators need them) in range
/// order, so the merged predictions are row for row the ones <c>deepslide classify</c> makes; runs each aggregator of
/// the manifest; writes the merged patches and the result JSON to the results container.
/// </summary>
public sealed class AggregateHandler(PipelineStores stores, string scratch)
{
    private const string MissingOutput = "a completed range's output is not stored.";

    private const int ParallelDownloads = 8;

    public async Task<WorkCompletion> AggregateAsync(WorkMessage message, CancellationToken cancellationToken = default)
    {
        using Activity? span = WorkHandlers.Tracing.StartActivity("aggregate", ActivityKind.Internal);
        span?.SetTag("deepslide.run_id", message.RunId);
        string manifestBlob = $"{message.ModelPrefix.TrimEnd('/')}/{Inference.ModelBundle.ManifestFileName}";
        (string manifestJson, BlobVersion manifestVersion) = await PipelineStores.ReadTextAsync(
            stores.Models, manifestBlob, scratch, "no model bundle is stored under this prefix.", DeepSlideErrorReason.InvalidModel, cancellationToken);
        ModelManifest manifest = ModelManifestJson.Parse(manifestJson, manifestBlob);
        var setup = ClassificationSetup.For(manifest);
        TilePlan plan = TilePlanJson.Deserialize((await PipelineStores.ReadTextAsync(stores.Results, message.PlanBlob, scratch, cancellationToken: cancellationToken)).Text, message.PlanBlob);
        int patchCount = plan.Tiles.Count;
        IReadOnlyList<TileRange> ranges = TileRange.Split(patchCount, message.RangeSize);

        int classes = manifest.Classes.Count;
        var values = new float[patchCount * classes];
        float[]? features = setup.NeedsFeatures ? new float[patchCount * ResNetBackbone.FeatureCount] : null;
        Directory.CreateDirectory(scratch);
        string local = Path.Combine(scratch, $"{Guid.NewGuid():N}");
        try
        {
            // Ranges are fetched several at once: in Azure each blob read is a round trip of tens of milliseconds, and a
            // slide has up to 500 ranges (twice that with features). Each range writes its own slice of the arrays.
            await Parallel.ForEachAsync(
                ranges,
                new ParallelOptions { MaxDegreeOfParallelism = ParallelDownloads, CancellationToken = cancellationToken },
                async (range, token) =>
                {
                    string file = Path.Combine(scratch, $"{Guid.NewGuid():N}");
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
                        if (features is not null)
                        {
                            string featuresBlob = RunBlobs.RangeFeatures(message.RunId, range.Index);
                            await PipelineStores.DownloadCurrentAsync(stores.Results, featuresBlob, file, MissingOutput, cancellationToken: token);
                            await PatchFeaturesFile.ReadAsync(file, featuresBlob, range.Count, ResNetBackbone.FeatureCount, features, range.Start, token);
                        }
                    }
                    finally
                    {
                        File.Delete(file);
                    }
                });

            var patches = new PatchProbabilities(manifest.Classes, values) { Features = features };
            IReadOnlyList<SlideCall> calls = setup.Aggregators.Select(a => a.Aggregate(patches)).ToList();
            var result = new SlideResult(message.SlideBlob, SlideStatus.Classified, plan, patches, calls, "pipeline", 0);

            await PatchParquet.WriteAsync(result, local, cancellationToken);
            await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.Patches(message.RunId), local, cancellationToken);
            await File.WriteAllTextAsync(local, ResultFiles.ToJson(result), cancellationToken);
            await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.Result(message.RunId), local, cancellationToken);

            var slideCalls = new SlideCalls(
                calls.Select(c => new StoredCall(c.Method, c.Label, manifest.Classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => c.Scores[p.i]), c.Note)).ToList(),
                new RunModel(message.ModelPrefix, message.ModelPrefix, manifestVersion.ETag, manifest.Onnx.Sha256, manifest.Classes),
                new Dictionary<string, string> { ["patches"] = RunBlobs.Patches(message.RunId), ["result"] = RunBlobs.Result(message.RunId) });
            return WorkHandlers.Done(message, RunBlobs.Result(message.RunId)) with { Patches = patchCount, Calls = slideCalls };
        }
        finally
        {
            File.Delete(local);
        }
    }
}
