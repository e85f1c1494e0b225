using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace DeepSlide.Inference.Quantization;

/// <summary>
/// Makes an int8 or FP16 bundle from an FP32 one. BatchNormalization is folded into the convolutions first, by ONNX
/// Runtime's basic optimization written back out (SessionOptions.OptimizedModelFilePath); for int8, activation ranges
/// are calibrated on sample patches (<see cref="ActivationCalibrator"/>) and the graph rewritten to QDQ
/// (<see cref="QdqGraph"/>). The manifest is the FP32 one with the precision and the calibration recorded, so
/// <c>classify</c>, <c>tune</c>, <c>cam</c> and the worker take the new bundle as they take any.
/// </summary>
public static class ModelQuantizer
{
    public const double DefaultPercentile = 99.999;

    /// <param name="floatStem">Keep the first convolution in float: closer to FP32, and slower.</param>
    public static ModelBundle ToInt8(ModelBundle fp32, string folder, IReadOnlyList<ReadOnlyMemory<byte>> calibration, string source, double percentile = DefaultPercentile, int threads = 0, bool floatStem = false)
    {
        RequireFp32(fp32);
        ModelProto folded = FoldBatchNorm(fp32);
        // The first convolution reads the preprocessed image (pixels minus a mean image): 256 levels over its range
        // are coarser than the pixels themselves, and that error reaches every later layer.
        HashSet<string> floatConvs = floatStem ? [QdqGraph.Convolutions(folded)[0]] : [];
        IReadOnlyList<string> activations = QdqGraph.ActivationsToCalibrate(folded, floatConvs);
        IReadOnlyDictionary<string, ActivationRange> ranges = ActivationCalibrator.Calibrate(
            folded, fp32.Manifest, activations, calibration, percentile, threads > 0 ? threads : Environment.ProcessorCount);
        ModelProto int8 = QdqGraph.Rewrite(folded, ranges, floatConvs);
        ModelManifest manifest = fp32.Manifest with
        {
            Onnx = fp32.Manifest.Onnx with
            {
                Precision = ModelPrecision.Int8,
                Calibration = new CalibrationSpec { Percentile = percentile, Samples = calibration.Count, Source = source, FromSha256 = fp32.Manifest.Onnx.Sha256, FloatConvolutions = [.. floatConvs] },
            },
        };
        return ModelBundle.Save(folder, manifest, int8.ToByteArray());
    }

    /// <summary>
    /// A copy of an int8 bundle, written to <paramref name="folder"/>, whose float head is re-fitted (<see cref="HeadRefit"/>)
    /// on <paramref name="patches"/> so that, on its int8 backbone's features, it gives the FP32 model's logits.
    /// </summary>
    public static ModelBundle RefitHead(ModelBundle fp32, ModelBundle int8, string folder, IReadOnlyList<ReadOnlyMemory<byte>> patches, int threads = 0)
    {
        RequireFp32(fp32);
        if (fp32.Manifest.Output.Features is null)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, fp32.Folder, "the model exposes no features ('output.features'), so its head cannot be re-fitted to the int8 backbone.");
        }

        if (int8.Manifest.Onnx.Calibration is not { } calibration)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, int8.Folder, "the bundle is not a calibrated int8 copy ('onnx.calibration' is missing).");
        }

        var options = new InferenceOptions { Threads = threads > 0 ? threads : Environment.ProcessorCount };
        SoftmaxModel head = HeadRefit.Fit(ClassifierGraph.ReadHead(File.ReadAllBytes(fp32.OnnxPath)), Features(fp32, patches, options), Features(int8, patches, options));
        return ModelBundle.Save(
            folder,
            int8.Manifest with { Onnx = int8.Manifest.Onnx with { Calibration = calibration with { HeadRefitSamples = patches.Count } } },
            ClassifierGraph.WithHead(OnnxGraph.Parse(File.ReadAllBytes(int8.OnnxPath)), head).ToByteArray());
    }

    private static float[] Features(ModelBundle bundle, IReadOnlyList<ReadOnlyMemory<byte>> patches, InferenceOptions options)
    {
        using PatchClassifier classifier = PatchClassifier.Load(bundle, options);
        var features = new float[patches.Count * ResNetBackbone.FeatureCount];
        classifier.Classify(patches, new float[patches.Count * classifier.ClassCount], features);
        return features;
    }

    public static ModelBundle ToFp16(ModelBundle fp32, string folder)
    {
        RequireFp32(fp32);
        ModelProto fp16 = Fp16Graph.Convert(FoldBatchNorm(fp32));
        ModelManifest manifest = fp32.Manifest with { Onnx = fp32.Manifest.Onnx with { Precision = ModelPrecision.Fp16, Calibration = null } };
        return ModelBundle.Save(folder, manifest, fp16.ToByteArray());
    }

    /// <summary>The FP32 graph after ONNX Runtime's basic optimizations (BatchNormalization folded into Conv), on the CPU.</summary>
    public static ModelProto FoldBatchNorm(ModelBundle fp32)
    {
        string optimized = Path.Combine(Path.GetTempPath(), $"deepslide-optimized-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions
            {
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC,
                OptimizedModelFilePath = optimized,
                LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            })
            using (new InferenceSession(File.ReadAllBytes(fp32.OnnxPath), options))
            {
            }

            return OnnxGraph.Parse(File.ReadAllBytes(optimized));
        }
        finally
        {
            File.Delete(optimized);
        }
    }

    private static void RequireFp32(ModelBundle bundle)
    {
        if (bundle.Manifest.Onnx.Precision != ModelPrecision.Fp32)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, bundle.Folder, $"the bundle is already {bundle.Manifest.Onnx.Precision}; quantize an FP32 bundle.");
        }
    }
}
