using System.Diagnostics;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using DeepSlide.Patches;
using DeepSlide.Slides;
using DeepSlide.Tiling;

namespace DeepSlide.Cli.Commands;

/// <summary>
/// The bare ONNX model on patches already in memory, against end-to-end classification of a slide (reading,
/// tissue filtering, preprocessing and inference together), on the same machine and run.
/// </summary>
internal static class InferenceBench
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    /// <summary>
    /// A bundle with an untrained head: the network's cost does not depend on the head's weights, so it measures
    /// throughput exactly without a training run first.
    /// </summary>
    public static string EnsureBundle(string folder)
    {
        string bundleFolder = Path.Combine(folder, "bench-model");
        if (!File.Exists(Path.Combine(bundleFolder, ModelBundle.ManifestFileName)))
        {
            var random = new Random(1);
            var head = new SoftmaxModel(3, 512, Enumerable.Range(0, 1536).Select(_ => (float)(random.NextDouble() - 0.5) * 0.01f).ToArray(), new float[3]);
            var manifest = new ModelManifest
            {
                Classes = ["a", "b", "c"],
                Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, Features = ResNetBackbone.FeaturesName },
            };
            ModelBundle.Save(bundleFolder, manifest, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToBytes());
        }

        return bundleFolder;
    }

    public static async Task RunAsync(string folder, string slidePath, InferenceOptions options, CancellationToken cancellationToken)
    {
        ModelBundle bundle = ModelBundle.Load(EnsureBundle(folder));
        using PatchClassifier classifier = PatchClassifier.Load(bundle, options);
        using ISlideReader reader = SlideReader.Open(slidePath);
        TilePlan plan = TilePlanner.Plan(reader, new TilingOptions());

        var patches = new List<ReadOnlyMemory<byte>>();
        await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, cancellationToken: cancellationToken))
        {
            patches.Add(patch.Pixels.ToArray());
            patch.Dispose();
            if (patches.Count == 320)
            {
                break;
            }
        }

        var probabilities = new float[patches.Count * 3];
        classifier.Classify(patches.Take(classifier.BatchSize * 2).ToList(), probabilities); // warm-up
        var watch = Stopwatch.StartNew();
        classifier.Classify(patches, probabilities);
        double bare = patches.Count / watch.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(C, $"bare model (ResNet-18 + head, {classifier.ExecutionProvider}, batch {classifier.BatchSize}, {options.Threads} threads), patches in memory: {bare:0.0} patches/s"));

        watch.Restart();
        SlideResult result = await SlideClassifier.ClassifyAsync(reader, classifier, Aggregators.FromManifest(bundle.Manifest), cancellationToken: cancellationToken);
        double endToEnd = result.Patches.Count / watch.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(C, $"end-to-end classify (plan, read, filter, preprocess, infer, aggregate) of {Path.GetFileName(slidePath)}: {result.Patches.Count} patches in {watch.Elapsed.TotalSeconds:0.0} s = {endToEnd:0.0} patches/s, {endToEnd / bare:P0} of the bare model"));
        Console.WriteLine(string.Create(C, $"against DeepSlide's own PyTorch ResNet-18 here (40-70 patches/s, ENVIRONMENT.md): {endToEnd / 70:0.0}x to {endToEnd / 40:0.0}x"));
    }
}
