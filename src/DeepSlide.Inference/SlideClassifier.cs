using System.Diagnostics;
using DeepSlide.Aggregation;
using DeepSlide.Patches;
using DeepSlide.Slides;
using DeepSlide.Tiling;

namespace DeepSlide.Inference;

/// <summary>
/// Classifies one slide: plans it at the model's resolution, streams its tissue patches (read ahead on other
/// threads while the model runs), classifies them in batches and applies every aggregator.
/// </summary>
public static class SlideClassifier
{
    public static async Task<SlideResult> ClassifyAsync(
        ISlideReader reader,
        PatchClassifier classifier,
        IReadOnlyList<ISlideAggregator> aggregators,
        TilingOptions? tiling = null,
        Action<int, int>? progress = null,
        bool collectFeatures = false,
        CallConfirmation? confirmation = null,
        CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var manifest = classifier.Manifest;
        tiling ??= Models.ClassificationSetup.TilingFor(manifest);
        TilePlan plan = TilePlanner.Plan(reader, tiling);
        bool keepFeatures = collectFeatures || aggregators.Any(a => a.NeedsFeatures);
        PatchProbabilities patches = await ClassifyTilesAsync(reader, classifier, plan, plan.Tiles, keepFeatures, progress, confirmation, cancellationToken);
        var calls = aggregators.Select(a => a.Aggregate(patches)).ToList();
        ConfirmedCalls? confirmed = null;
        if (confirmation is not null)
        {
            IReadOnlyList<string> unsure = CallStability.Unsure(patches, aggregators, calls, confirmation.Margin);
            confirmed = new ConfirmedCalls(patches.Reclassified, unsure, confirmation.PatchMargin, confirmation.Margin);
            if (unsure.Count > 0)
            {
                patches = await ClassifyTilesAsync(reader, confirmation.Classifier, plan, plan.Tiles, keepFeatures, progress, cancellationToken: cancellationToken);
                calls = [.. aggregators.Select(a => a.Aggregate(patches))];
            }
        }

        return new SlideResult(
            reader.Info.Path,
            plan.IsEmpty ? SlideStatus.NoTissue : SlideStatus.Classified,
            plan,
            patches,
            calls,
            classifier.ExecutionProvider,
            watch.Elapsed.TotalSeconds) { Confirmed = confirmed };
    }

    /// <summary>
    /// Classifies <paramref name="tiles"/> of <paramref name="plan"/> (all of them, or a range), reading ahead while
    /// the model runs; returns their probabilities in the same order, and their features when asked. With a
    /// <paramref name="confirmation"/>, patches the int8 model leaves unsure are classified again in FP32.
    /// </summary>
    public static async Task<PatchProbabilities> ClassifyTilesAsync(
        ISlideReader reader,
        PatchClassifier classifier,
        TilePlan plan,
        IReadOnlyList<Tile> tiles,
        bool keepFeatures = false,
        Action<int, int>? progress = null,
        CallConfirmation? confirmation = null,
        CancellationToken cancellationToken = default)
    {
        var manifest = classifier.Manifest;
        int classes = classifier.ClassCount;
        var probabilities = new float[tiles.Count * classes];
        if (keepFeatures && manifest.Output.Features is null)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, null, "an aggregator needs patch features, but the model exposes none ('output.features').");
        }

        int featureCount = keepFeatures ? Onnx.ResNetBackbone.FeatureCount : 0;
        float[]? features = keepFeatures ? new float[tiles.Count * featureCount] : null;
        float[]? batchFeatures = keepFeatures ? new float[classifier.BatchSize * featureCount] : null;
        var batch = new List<Patch>(classifier.BatchSize);
        int done = 0, reclassified = 0;

        void Flush()
        {
            var views = new List<ReadOnlyMemory<byte>>(batch.Count);
            foreach (Patch p in batch)
            {
                views.Add(p.Memory);
            }

            classifier.Classify(views, probabilities.AsSpan(done * classes, batch.Count * classes), batchFeatures);
            reclassified += confirmation?.ConfirmPatches(views, probabilities.AsSpan(done * classes, batch.Count * classes), batchFeatures, featureCount) ?? 0;
            if (features is not null)
            {
                batchFeatures.AsSpan(0, batch.Count * featureCount).CopyTo(features.AsSpan(done * featureCount));
            }

            done += batch.Count;
            foreach (Patch p in batch)
            {
                p.Dispose();
            }

            batch.Clear();
            progress?.Invoke(done, tiles.Count);
        }

        try
        {
            await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, tiles, cancellationToken: cancellationToken))
            {
                batch.Add(patch);
                if (batch.Count == classifier.BatchSize)
                {
                    Flush();
                }
            }

            if (batch.Count > 0)
            {
                Flush();
            }
        }
        finally
        {
            foreach (Patch p in batch)
            {
                p.Dispose();
            }
        }

        return new PatchProbabilities(manifest.Classes, probabilities) { Features = features, Grid = [.. tiles.Select(t => (t.Column, t.Row))], Reclassified = reclassified };
    }
}
