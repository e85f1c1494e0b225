using System.Diagnostics;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Inference.Quantization;
using DeepSlide.Learning;
using DeepSlide.Models;
using DeepSlide.Patches;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using Google.Protobuf;

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
            ModelBundle.Save(bundleFolder, manifest, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToByteArray());
        }

        return bundleFolder;
    }

    /// <summary>
    /// The int8 copy of the bench bundle, calibrated on every 20th tissue patch of the bench slide (the bench has no
    /// training patches; the rates do not depend on which patches calibrate).
    /// </summary>
    public static async Task<string> EnsureInt8BundleAsync(string folder, string slidePath, CancellationToken cancellationToken, bool floatStem = false)
    {
        string int8Folder = Path.Combine(folder, floatStem ? "bench-model-int8-float-stem" : "bench-model-int8");
        if (!File.Exists(Path.Combine(int8Folder, ModelBundle.ManifestFileName)))
        {
            using ISlideReader reader = SlideReader.Open(slidePath);
            TilePlan plan = TilePlanner.Plan(reader, new TilingOptions());
            IReadOnlyList<Tile> every20th = plan.Tiles.Where((_, i) => i % 20 == 0).Take(64).ToList();
            var patches = new List<ReadOnlyMemory<byte>>();
            await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, every20th, cancellationToken: cancellationToken))
            {
                patches.Add(patch.Pixels.ToArray());
                patch.Dispose();
            }

            var watch = Stopwatch.StartNew();
            ModelQuantizer.ToInt8(ModelBundle.Load(EnsureBundle(folder)), int8Folder, patches, $"{Path.GetFileName(slidePath)}, every 20th tissue patch", floatStem: floatStem);
            Console.WriteLine(string.Create(C, $"quantized the bench model to int8{(floatStem ? " with a float stem" : string.Empty)} in {watch.Elapsed.TotalSeconds:0.0} s ({patches.Count} calibration patches)"));
        }

        return int8Folder;
    }

    public static async Task RunAsync(string folder, string slidePath, InferenceOptions options, double readRate, CancellationToken cancellationToken)
    {
        string[] names = ["fp32", "int8", "int8, float stem"];
        var bundles = new[]
        {
            ModelBundle.Load(EnsureBundle(folder)),
            ModelBundle.Load(await EnsureInt8BundleAsync(folder, slidePath, cancellationToken)),
            ModelBundle.Load(await EnsureInt8BundleAsync(folder, slidePath, cancellationToken, floatStem: true)),
        };
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

        var bare = new double[bundles.Length];
        var endToEnd = new double[bundles.Length];
        var results = new SlideResult[bundles.Length];
        string provider = string.Empty;
        int batch = 0;
        for (int b = 0; b < bundles.Length; b++)
        {
            using PatchClassifier classifier = PatchClassifier.Load(bundles[b], options);
            provider = classifier.ExecutionProvider;
            batch = classifier.BatchSize;
            var probabilities = new float[patches.Count * classifier.ClassCount];
            classifier.Classify(patches.Take(classifier.BatchSize * 2).ToList(), probabilities); // warm-up
            var watch = Stopwatch.StartNew();
            classifier.Classify(patches, probabilities);
            bare[b] = patches.Count / watch.Elapsed.TotalSeconds;

            watch.Restart();
            results[b] = await SlideClassifier.ClassifyAsync(reader, classifier, Aggregators.FromManifest(bundles[b].Manifest), cancellationToken: cancellationToken);
            endToEnd[b] = results[b].Patches.Count / watch.Elapsed.TotalSeconds;
        }

        int n = results[0].Patches.Count;
        Console.WriteLine(string.Create(C, $"inference, measured in this run: ResNet-18 + head, {provider}, batch {batch}, {options.Threads} threads; {Path.GetFileName(slidePath)}, {n} patches"));
        string Row(string label, Func<int, string> cell) => string.Create(C, $"  {label,-44}{string.Concat(Enumerable.Range(0, bundles.Length).Select(b => $"{cell(b),18}"))}");
        Console.WriteLine(Row(string.Empty, b => names[b]));
        Console.WriteLine(Row("bare model, patches in memory (patches/s)", b => bare[b].ToString("0.0", C)));
        Console.WriteLine(Row("end-to-end classify (patches/s)", b => endToEnd[b].ToString("0.0", C)));
        Console.WriteLine(Row("end-to-end against fp32", b => (endToEnd[b] / endToEnd[0]).ToString("0.00", C) + "x"));
        Console.WriteLine(Row("end-to-end as a share of the bare model", b => (endToEnd[b] / bare[b]).ToString("P0", C)));
        for (int b = 0; b < bundles.Length; b++)
        {
            string bound = readRate < bare[b] ? $"reading and decoding ({readRate:0} patches/s streamed alone)" : $"the model ({bare[b]:0} patches/s bare)";
            Console.WriteLine(string.Create(C, $"  {names[b]} is bounded by {bound}"));
        }

        int classes = results[0].Patches.Classes.Count;
        for (int b = 1; b < bundles.Length; b++)
        {
            int same = 0;
            float largest = 0;
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<float> a = results[0].Patches.Row(i), q = results[b].Patches.Row(i);
                same += ArgMax(a) == ArgMax(q) ? 1 : 0;
                for (int c = 0; c < classes; c++)
                {
                    largest = Math.Max(largest, Math.Abs(a[c] - q[c]));
                }
            }

            Console.WriteLine(string.Create(C, $"  {names[b]} against fp32, patch by patch: the same class on {same} of {n} ({(double)same / n:P1}), largest probability difference {largest:0.0000}"));
            Console.WriteLine(string.Create(C, $"  {names[b]} slide labels: {string.Join(", ", results[0].Calls.Zip(results[b].Calls).Select(p => $"{p.First.Method} {(p.First.Label == p.Second.Label ? "same" : $"{p.First.Label} vs {p.Second.Label}")}"))}"));
        }

        Console.WriteLine($"  CPU int8 instructions: {PyTorchPeer.Int8Instructions()}");
        (double? peer, string said) = PyTorchPeer.Measure(options.Threads);
        if (peer is double rate)
        {
            Console.WriteLine(string.Create(C, $"  DeepSlide's framework, measured in this run: torchvision ResNet-18 forward, batch 16, {options.Threads} threads ({said}): {rate:0.0} patches/s"));
            Console.WriteLine(string.Create(C, $"  against it: end-to-end fp32 {endToEnd[0] / rate:0.00}x, end-to-end int8 {endToEnd[1] / rate:0.00}x, bare int8 {bare[1] / rate:0.00}x, end-to-end int8 with a float stem {endToEnd[2] / rate:0.00}x"));
        }
        else
        {
            Console.WriteLine($"  DeepSlide's framework was not measured in this run: PyTorch is {said}; quoted from ../shared/ENVIRONMENT.md: 25-73 patches/s with Debian's torch 1.13 on 2 cores, depending on the machine");
        }
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }
}
