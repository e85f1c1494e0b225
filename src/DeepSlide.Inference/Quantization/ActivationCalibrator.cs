using DeepSlide.Inference.Onnx;
using DeepSlide.Models;
using DeepSlide.Stain;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace DeepSlide.Inference.Quantization;

/// <summary>
/// Percentile calibration: runs the FP32 graph on sample patches with the activations to calibrate exposed as
/// outputs, and keeps, for each, the range between its (100 - p)th and pth percentile, from a histogram of all its
/// values over all the patches (a first pass finds each one's extremes, a second fills 2,048 bins between them).
/// Percentiles, unlike bare extremes, are not stretched by the rare outlier, which would waste the 256 levels.
/// </summary>
public static class ActivationCalibrator
{
    private const int Bins = 2048;

    public static IReadOnlyDictionary<string, ActivationRange> Calibrate(
        ModelProto model,
        ModelManifest manifest,
        IReadOnlyList<string> activations,
        IReadOnlyList<ReadOnlyMemory<byte>> patches,
        double percentile,
        int threads)
    {
        if (patches.Count == 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, "calibration needs at least one patch.");
        }

        ModelProto exposed = model.Clone();
        GraphProto graph = OnnxGraph.Graph(exposed);
        HashSet<string> outputs = OnnxGraph.OutputNames(graph).ToHashSet();
        graph.Output.AddRange(activations.Where(a => !outputs.Contains(a)).Select(OnnxGraph.FloatValue));
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC,
            IntraOpNumThreads = Math.Max(1, threads),
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        using var session = new InferenceSession(exposed.ToByteArray(), options);

        var low = activations.ToDictionary(a => a, _ => float.PositiveInfinity);
        var high = activations.ToDictionary(a => a, _ => float.NegativeInfinity);
        Run(session, manifest, activations, patches, (name, values) =>
        {
            float lo = low[name], hi = high[name];
            foreach (float v in values)
            {
                lo = Math.Min(lo, v);
                hi = Math.Max(hi, v);
            }

            low[name] = lo;
            high[name] = hi;
        });

        var histograms = activations.ToDictionary(a => a, _ => new long[Bins]);
        Run(session, manifest, activations, patches, (name, values) =>
        {
            long[] counts = histograms[name];
            float lo = low[name], width = (high[name] - lo) / Bins;
            if (width <= 0)
            {
                counts[0] += values.Length;
                return;
            }

            foreach (float v in values)
            {
                counts[Math.Clamp((int)((v - lo) / width), 0, Bins - 1)]++;
            }
        });

        var ranges = new Dictionary<string, ActivationRange>();
        foreach (string name in activations)
        {
            long[] counts = histograms[name];
            long total = counts.Sum();
            long tail = (long)Math.Floor(total * (100 - percentile) / 100);
            float width = (high[name] - low[name]) / Bins;
            int first = 0, last = Bins - 1;
            for (long seen = 0; first < Bins - 1 && seen + counts[first] <= tail; first++)
            {
                seen += counts[first];
            }

            for (long seen = 0; last > 0 && seen + counts[last] <= tail; last--)
            {
                seen += counts[last];
            }

            // An activation that never goes below zero (after a Relu) keeps zero as its floor exactly.
            float lowEdge = low[name] >= 0 ? low[name] : low[name] + (first * width);
            ranges[name] = new ActivationRange(lowEdge, low[name] + ((last + 1) * width));
        }

        return ranges;
    }

    private static void Run(InferenceSession session, ModelManifest manifest, IReadOnlyList<string> activations, IReadOnlyList<ReadOnlyMemory<byte>> patches, Action<string, ReadOnlySpan<float>> observe)
    {
        const int batch = 8;
        int size = manifest.Input.Size;
        int plane = 3 * size * size;
        var preprocessor = new Preprocessor(manifest.Input);
        StainNormalizer? stain = StainNormalizer.Create(manifest.Stain.Method, manifest.Stain.Target);
        var input = new float[batch * plane];
        var copy = new byte[plane];
        for (int start = 0; start < patches.Count; start += batch)
        {
            int n = Math.Min(batch, patches.Count - start);
            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<byte> rgb = patches[start + i].Span;
                if (stain is not null)
                {
                    rgb[..plane].CopyTo(copy);
                    stain.Apply(copy);
                    rgb = copy;
                }

                preprocessor.Fill(rgb, input.AsSpan(i * plane, plane));
            }

            using OrtValue tensor = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, n * plane), [n, 3, size, size]);
            using var run = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> values = session.Run(run, [manifest.Input.Name], [tensor], activations.ToList());
            for (int a = 0; a < activations.Count; a++)
            {
                observe(activations[a], values[a].GetTensorDataAsSpan<float>());
            }
        }
    }
}
