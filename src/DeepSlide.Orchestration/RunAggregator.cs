using System.Diagnostics;
using System.Runtime.InteropServices;
using DeepSlide.Aggregation;
using DeepSlide.Models;
using DeepSlide.Pipeline;
using DeepSlide.Results;
using DeepSlide.Tiling;

namespace DeepSlide.Orchestration;

/// <summary>
/// The aggregate step: reads every range's Parquet (and features, for models whose aggregators need them) in range
/// order, so the merged predictions are row for row the ones <c>deepslide classify</c> makes; runs each aggregator of
/// the manifest; writes the merged patches and the result JSON to the results container.
/// </summary>
public sealed class RunAggregator(PipelineStores stores, string scratch)
{
    private const string MissingOutput = "a completed range's output is not stored.";

    private const int ParallelDownloads = 8;

    public async Task<AggregateOutcome> AggregateAsync(AggregateRequest request, CancellationToken cancellationToken = default)
    {
        using Activity? span = DispatchActivity.Tracing.StartActivity("aggregate", ActivityKind.Internal, request.Run.TraceParent);
        span?.SetTag("deepslide.run_id", request.RunId);
        var watch = Stopwatch.StartNew();
        string manifestBlob = $"{request.Run.ModelPrefix.TrimEnd('/')}/manifest.json";
        (string manifestJson, BlobVersion manifestVersion) = await PipelineStores.ReadTextAsync(
            stores.Models, manifestBlob, scratch, "no model bundle is stored under this prefix.", DeepSlideErrorReason.InvalidModel, cancellationToken);
        ModelManifest manifest = ModelManifestJson.Parse(manifestJson, manifestBlob);
        IReadOnlyList<ISlideAggregator> aggregators = Aggregators.FromManifest(manifest);
        bool needsFeatures = aggregators.Any(a => a.NeedsFeatures);
        string planBlob = RunBlobs.Plan(request.RunId);
        TilePlan plan = TilePlanJson.Deserialize((await PipelineStores.ReadTextAsync(stores.Results, planBlob, scratch, cancellationToken: cancellationToken)).Text, planBlob);
        if (plan.Tiles.Count != request.Patches)
        {
            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, planBlob, $"the plan has {plan.Tiles.Count} tiles, but the run planned {request.Patches}.");
        }

        int classes = manifest.Classes.Count;
        var values = new float[request.Patches * classes];
        float[]? features = null;
        Directory.CreateDirectory(scratch);
        string local = Path.Combine(scratch, $"{Guid.NewGuid():N}");
        var gate = new object();
        try
        {
            // Ranges are fetched several at once: in Azure each blob read is a round trip of tens of milliseconds, and a
            // slide has up to 500 ranges (twice that with features). Each range writes its own slice of the arrays.
            await Parallel.ForEachAsync(
                request.Ranges,
                new ParallelOptions { MaxDegreeOfParallelism = ParallelDownloads, CancellationToken = cancellationToken },
                async (range, token) =>
                {
                    string file = Path.Combine(scratch, $"{Guid.NewGuid():N}");
                    try
                    {
                        string blob = RunBlobs.Range(request.RunId, range.Range);
                        await PipelineStores.DownloadCurrentAsync(stores.Results, blob, file, MissingOutput, cancellationToken: token);
                        PatchProbabilities part = await PatchParquet.ReadProbabilitiesAsync(file, manifest.Classes, token);
                        if (part.Count != range.Count)
                        {
                            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, blob, $"range {range.Range} has {part.Count} patches; {range.Count} were sent.");
                        }

                        part.Values.CopyTo(values.AsSpan(range.Start * classes));
                        if (needsFeatures)
                        {
                            string featuresBlob = RunBlobs.RangeFeatures(request.RunId, range.Range);
                            await PipelineStores.DownloadCurrentAsync(stores.Results, featuresBlob, file, MissingOutput, cancellationToken: token);
                            byte[] bytes = await File.ReadAllBytesAsync(file, token);
                            ReadOnlySpan<float> rows = MemoryMarshal.Cast<byte, float>(bytes);
                            int featureCount = range.Count == 0 ? 0 : rows.Length / range.Count;
                            float[] all;
                            lock (gate)
                            {
                                all = features ??= new float[request.Patches * Math.Max(featureCount, 1)];
                            }

                            if (featureCount == 0 || rows.Length != range.Count * featureCount || all.Length != request.Patches * featureCount)
                            {
                                throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, featuresBlob, $"the features hold {rows.Length} values, which is not {range.Count} patches' worth.");
                            }

                            rows.CopyTo(all.AsSpan(range.Start * featureCount));
                        }
                    }
                    finally
                    {
                        File.Delete(file);
                    }
                });

            var patches = new PatchProbabilities(manifest.Classes, values) { Features = features };
            IReadOnlyList<SlideCall> calls = aggregators.Select(a => a.Aggregate(patches)).ToList();
            var result = new SlideResult(request.Run.SlideBlob, SlideStatus.Classified, plan, patches, calls, "pipeline", watch.Elapsed.TotalSeconds);

            await PatchParquet.WriteAsync(result, local, cancellationToken);
            await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.Patches(request.RunId), local, cancellationToken);
            await File.WriteAllTextAsync(local, ResultFiles.ToJson(result), cancellationToken);
            await PipelineStores.UploadFileAsync(stores.Results, RunBlobs.Result(request.RunId), local, cancellationToken);

            return new AggregateOutcome(
                calls.Select(c => new StoredCall(c.Method, c.Label, manifest.Classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => c.Scores[p.i]), c.Note)).ToList(),
                new RunModel(request.Run.ModelPrefix, request.Run.ModelPrefix, manifestVersion.ETag, manifest.Onnx.Sha256, manifest.Classes),
                new Dictionary<string, string> { ["patches"] = RunBlobs.Patches(request.RunId), ["result"] = RunBlobs.Result(request.RunId) });
        }
        finally
        {
            File.Delete(local);
        }
    }
}
