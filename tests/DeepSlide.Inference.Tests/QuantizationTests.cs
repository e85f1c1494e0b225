using System.Runtime.InteropServices;
using DeepSlide.Inference.Onnx;
using DeepSlide.Inference.Quantization;
using DeepSlide.Learning;
using DeepSlide.Models;
using Google.Protobuf;
using Onnx;

namespace DeepSlide.Inference.Tests;

/// <summary>
/// An FP32 bundle whose head is trained on the backbone's features of rendered tissue (so its argmax means
/// something), and its int8 and FP16 copies: int8 calibrated on one set of patches, compared on another.
/// </summary>
public sealed class QuantizedBundles : IDisposable
{
    public QuantizedBundles()
    {
        Folder = Directory.CreateTempSubdirectory("deepslide-quantized-").FullName;
        List<byte[]> training = PatchImages.Render(30, seed: 40);
        Calibration = PatchImages.Render(24, seed: 80);
        Held = PatchImages.Render(30, seed: 120);
        float[] features;
        using (var backbone = new BackboneFeaturizer())
        {
            features = backbone.Extract(training);
        }

        int[] labels = Enumerable.Range(0, training.Count).Select(i => i % 3).ToArray();
        (SoftmaxModel head, _) = SoftmaxRegression.Train(features, labels, 512, 3, null, null, new SoftmaxTrainingOptions { Seed = 1, MaxEpochs = 60 });
        var manifest = new ModelManifest
        {
            Classes = ["adenocarcinoma", "benign", "squamous"],
            Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, Features = ResNetBackbone.FeaturesName, FeatureMap = ClassifierGraph.FeatureMapName },
        };
        Fp32 = ModelBundle.Save(Path.Combine(Folder, "fp32"), manifest, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToByteArray());
        Int8 = ModelQuantizer.ToInt8(Fp32, Path.Combine(Folder, "int8"), Calibration.Select(p => (ReadOnlyMemory<byte>)p).ToList(), "rendered patches");
        Fp16 = ModelQuantizer.ToFp16(Fp32, Path.Combine(Folder, "fp16"));
    }

    public string Folder { get; }

    public List<byte[]> Calibration { get; }

    public List<byte[]> Held { get; }

    public ModelBundle Fp32 { get; }

    public ModelBundle Int8 { get; }

    public ModelBundle Fp16 { get; }

    public (float[] Probabilities, float[] Features) Run(ModelBundle bundle)
    {
        using PatchClassifier classifier = PatchClassifier.Load(ModelBundle.Load(bundle.Folder), new InferenceOptions { BatchSize = 8 });
        var probabilities = new float[Held.Count * 3];
        var features = new float[Held.Count * 512];
        classifier.Classify(Held.Select(p => (ReadOnlyMemory<byte>)p).ToList(), probabilities, features);
        return (probabilities, features);
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public sealed class QuantizationTests(QuantizedBundles bundles) : IClassFixture<QuantizedBundles>
{
    [Fact]
    public void Every_Conv_reads_its_input_and_weights_through_QDQ_with_int8_weights_per_output_channel_and_the_head_stays_float()
    {
        ModelProto model = OnnxGraph.Parse(File.ReadAllBytes(bundles.Int8.OnnxPath));
        GraphProto graph = OnnxGraph.Graph(model);
        var nodes = graph.Node.ToList();
        Dictionary<string, NodeProto> producer = nodes.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        Dictionary<string, TensorProto> initializers = graph.Initializer.ToDictionary(t => t.Name);

        var layers = nodes.Where(n => n.OpType == "Conv").ToList();
        int fp32Convs = OnnxGraph.Graph(OnnxGraph.Parse(File.ReadAllBytes(bundles.Fp32.OnnxPath))).Node.Count(n => n.OpType == "Conv");
        Assert.Equal(22, fp32Convs);
        Assert.Equal(fp32Convs, layers.Count(n => n.OpType == "Conv"));
        Assert.DoesNotContain(nodes, n => n.OpType is "BatchNormalization" or "Relu");
        Assert.Equal(13, OnnxGraph.DefaultOpset(model));
        foreach (NodeProto layer in layers)
        {
            IReadOnlyList<string> inputs = layer.Input;
            NodeProto activation = producer[inputs[0]];
            Assert.Equal("DequantizeLinear", activation.OpType);
            Assert.Equal("QuantizeLinear", producer[activation.Input[0]].OpType);
            Assert.Equal(OnnxGraph.ElemUint8, initializers[activation.Input[2]].DataType);

            NodeProto weights = producer[inputs[1]];
            Assert.Equal("DequantizeLinear", weights.OpType);
            TensorProto q = initializers[weights.Input[0]];
            Assert.Equal(OnnxGraph.ElemInt8, q.DataType);
            long channels = q.Dims[0];
            Assert.Equal([channels], initializers[weights.Input[1]].Dims);
            Assert.Equal(0, weights.Attribute.Single(a => a.Name == "axis").I);
            sbyte[] values = MemoryMarshal.Cast<byte, sbyte>(q.RawData.Span).ToArray();
            Assert.All(values, v => Assert.InRange(v, (sbyte)-127, (sbyte)127));

            NodeProto bias = producer[inputs[2]];
            Assert.Equal(OnnxGraph.ElemInt32, initializers[bias.Input[0]].DataType);
        }

        // The head reads the float features and its float weights (see QdqGraph for why).
        NodeProto head = Assert.Single(nodes, n => n.OpType == "Gemm");
        Assert.Equal(["features", "head_weight", "head_bias"], head.Input);
        Assert.Equal(OnnxGraph.ElemFloat, initializers["head_weight"].DataType);

        // No initializer is also an input (which would keep it from folding).
        HashSet<string> inputNames = graph.Input.Select(v => v.Name).ToHashSet();
        Assert.Equal(["image"], inputNames);
    }

    [Fact]
    public void Int8_agrees_with_FP32_on_patches_it_was_not_calibrated_on()
    {
        (float[] fp32, float[] fp32Features) = bundles.Run(bundles.Fp32);
        (float[] int8, float[] int8Features) = bundles.Run(bundles.Int8);
        int n = bundles.Held.Count;
        int agree = Enumerable.Range(0, n).Count(i => ArgMax(fp32.AsSpan(i * 3, 3)) == ArgMax(int8.AsSpan(i * 3, 3)));
        float largest = fp32.Zip(int8).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(agree >= n - 1, $"{agree} of {n} patches have the same class");
        Assert.True(largest < 0.1f, $"the largest probability difference is {largest}");
        for (int i = 0; i < n; i++)
        {
            Assert.True(Cosine(fp32Features.AsSpan(i * 512, 512), int8Features.AsSpan(i * 512, 512)) > 0.995, $"patch {i}'s features differ");
        }

        // The check has teeth: a model calibrated on nothing like tissue (a flat grey patch) drifts further.
        ModelBundle flat = ModelQuantizer.ToInt8(bundles.Fp32, Path.Combine(bundles.Folder, "int8-flat"), [Enumerable.Repeat((byte)128, 224 * 224 * 3).ToArray()], "grey");
        (float[] flatProbabilities, _) = bundles.Run(flat);
        Assert.True(fp32.Zip(flatProbabilities).Max(p => Math.Abs(p.First - p.Second)) > largest);
    }

    [Fact]
    public void A_float_stem_reads_the_image_and_its_weights_in_float_while_every_later_Conv_stays_int8_and_it_drifts_less()
    {
        ModelBundle stem = ModelQuantizer.ToInt8(bundles.Fp32, Path.Combine(bundles.Folder, "int8-stem"), bundles.Calibration.Select(p => (ReadOnlyMemory<byte>)p).ToList(), "rendered patches", floatStem: true);
        GraphProto graph = OnnxGraph.Graph(OnnxGraph.Parse(File.ReadAllBytes(stem.OnnxPath)));
        var nodes = graph.Node.ToList();
        Dictionary<string, NodeProto> producer = nodes.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        Dictionary<string, TensorProto> initializers = graph.Initializer.ToDictionary(t => t.Name);
        var convs = nodes.Where(n => n.OpType == "Conv").ToList();

        Assert.Equal([convs[0].Output[0]], stem.Manifest.Onnx.Calibration!.FloatConvolutions);
        IReadOnlyList<string> first = convs[0].Input;
        Assert.False(producer.TryGetValue(first[0], out NodeProto? reader) && reader.OpType == "DequantizeLinear", "the stem reads the image itself");
        Assert.Equal(OnnxGraph.ElemFloat, initializers[first[1]].DataType);
        Assert.All(convs.Skip(1), c => Assert.Equal("DequantizeLinear", producer[c.Input[1]].OpType));

        (float[] fp32, _) = bundles.Run(bundles.Fp32);
        (float[] int8, _) = bundles.Run(bundles.Int8);
        (float[] floatStem, _) = bundles.Run(stem);
        double all = fp32.Zip(int8).Average(p => Math.Abs(p.First - p.Second)), withStem = fp32.Zip(floatStem).Average(p => Math.Abs(p.First - p.Second));
        Assert.True(withStem < all, $"mean probability change {withStem} with a float stem, {all} all int8");
    }

    [Fact]
    public void A_head_refitted_to_the_int8_features_moves_probabilities_less_on_patches_it_was_not_fitted_on_and_only_the_head_changes()
    {
        List<ReadOnlyMemory<byte>> fit = [.. PatchImages.Render(160, seed: 200).Select(p => (ReadOnlyMemory<byte>)p)];
        ModelBundle refitted = ModelQuantizer.RefitHead(bundles.Fp32, bundles.Int8, Path.Combine(bundles.Folder, "int8-refit"), fit);
        Assert.Equal(160, refitted.Manifest.Onnx.Calibration!.HeadRefitSamples);
        Assert.Equal(ModelPrecision.Int8, refitted.Manifest.Onnx.Precision);

        (float[] fp32, _) = bundles.Run(bundles.Fp32);
        (float[] plain, float[] plainFeatures) = bundles.Run(bundles.Int8);
        (float[] refit, float[] refitFeatures) = bundles.Run(refitted);
        Assert.Equal(plainFeatures, refitFeatures);
        double before = fp32.Zip(plain).Average(p => Math.Abs(p.First - p.Second)), after = fp32.Zip(refit).Average(p => Math.Abs(p.First - p.Second));
        Assert.True(after < before, $"mean probability change {after} with the refitted head, {before} with the FP32 head");
        Assert.NotEqual(ClassifierGraph.ReadHead(File.ReadAllBytes(bundles.Int8.OnnxPath)).Weights, ClassifierGraph.ReadHead(File.ReadAllBytes(refitted.OnnxPath)).Weights);
    }

    [Fact]
    public void The_manifest_records_precision_and_calibration_and_a_bundle_whose_graph_says_otherwise_is_refused()
    {
        CalibrationSpec calibration = bundles.Int8.Manifest.Onnx.Calibration!;
        Assert.Equal((ModelPrecision.Int8, "percentile", 99.999, 24, bundles.Fp32.Manifest.Onnx.Sha256), (bundles.Int8.Manifest.Onnx.Precision, calibration.Method, calibration.Percentile, calibration.Samples, calibration.FromSha256));
        Assert.Equal(bundles.Fp32.Manifest with { Onnx = bundles.Int8.Manifest.Onnx }, bundles.Int8.Manifest);

        // The int8 graph under an FP32 manifest, and the FP32 graph under an int8 one.
        var fp32Manifest = bundles.Int8.Manifest with { Onnx = bundles.Int8.Manifest.Onnx with { Precision = ModelPrecision.Fp32, Calibration = null } };
        var error = Assert.Throws<DeepSlideException>(() => PatchClassifier.Load(fp32Manifest, bundles.Int8.OnnxPath, File.ReadAllBytes(bundles.Int8.OnnxPath)));
        Assert.Contains("the manifest says the model is fp32, but its graph is int8", error.Message);
        Assert.Contains(bundles.Int8.OnnxPath, error.Message);
        error = Assert.Throws<DeepSlideException>(() => PatchClassifier.Load(bundles.Int8.Manifest, bundles.Fp32.OnnxPath, File.ReadAllBytes(bundles.Fp32.OnnxPath)));
        Assert.Contains("the manifest says the model is int8, but its graph is fp32", error.Message);

        // An int8 manifest without its calibration, and quantizing what is already quantized.
        Assert.Contains("must record its 'onnx.calibration'", Assert.Throws<DeepSlideException>(() => (bundles.Int8.Manifest with { Onnx = bundles.Int8.Manifest.Onnx with { Calibration = null } }).Validate("m.json")).Message);
        Assert.Contains("already int8", Assert.Throws<DeepSlideException>(() => ModelQuantizer.ToInt8(bundles.Int8, Path.Combine(bundles.Folder, "twice"), [bundles.Calibration[0]], "x")).Message);
    }

    [Fact]
    public void An_int8_bundle_carries_its_FP32_graph_to_confirm_unsure_calls_and_a_changed_copy_is_refused()
    {
        string folder = Path.Combine(bundles.Folder, "confirmed");
        CopyFolder(bundles.Int8.Folder, folder);
        ModelBundle confirmed = ModelBundle.Load(folder).WithConfirmation(bundles.Fp32, 0.1);
        Assert.Equal((0.1, "confirm.onnx"), (confirmed.Manifest.Onnx.Confirm!.Margin, confirmed.Manifest.Onnx.Confirm.File));

        // Loaded again: the confirming classifier gives the FP32 bundle's outputs, bit for bit, and the int8 graph is untouched.
        ModelBundle loaded = ModelBundle.Load(folder);
        using (CallConfirmation confirmation = CallConfirmation.For(loaded)!)
        {
            Assert.Equal(0.1, confirmation.Margin);
            var probabilities = new float[bundles.Held.Count * 3];
            confirmation.Classifier.Classify(bundles.Held.Select(p => (ReadOnlyMemory<byte>)p).ToList(), probabilities);
            Assert.Equal(bundles.Run(bundles.Fp32).Probabilities, probabilities);
        }

        Assert.Equal(bundles.Run(bundles.Int8).Probabilities, bundles.Run(loaded).Probabilities);
        Assert.Null(CallConfirmation.For(loaded, enabled: false));
        Assert.Null(CallConfirmation.For(bundles.Int8));

        // Only int8 carries one, with a margin above 0 and at most 0.5.
        Assert.Contains("only an int8 model carries 'onnx.confirm'", Assert.Throws<DeepSlideException>(() => (bundles.Fp32.Manifest with { Onnx = bundles.Fp32.Manifest.Onnx with { Confirm = loaded.Manifest.Onnx.Confirm } }).Validate("m.json")).Message);
        Assert.Contains("'onnx.confirm.margin' is 0.6", Assert.Throws<DeepSlideException>(() => (loaded.Manifest with { Onnx = loaded.Manifest.Onnx with { Confirm = loaded.Manifest.Onnx.Confirm! with { Margin = 0.6 } } }).Validate("m.json")).Message);

        // A changed byte in the FP32 copy.
        string copy = Path.Combine(folder, "confirm.onnx");
        byte[] bytes = File.ReadAllBytes(copy);
        bytes[^1] ^= 1;
        File.WriteAllBytes(copy, bytes);
        var error = Assert.Throws<DeepSlideException>(() => ModelBundle.Load(folder));
        Assert.Contains(copy, error.Message);
        Assert.Contains("onnx.confirm says", error.Message);
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    [Fact]
    public void The_FP16_graph_loads_on_the_CPU_provider_and_stays_within_tolerance_of_FP32()
    {
        GraphProto graph = OnnxGraph.Graph(OnnxGraph.Parse(File.ReadAllBytes(bundles.Fp16.OnnxPath)));
        Assert.DoesNotContain(graph.Initializer, t => t.DataType == OnnxGraph.ElemFloat);
        (float[] fp32, float[] fp32Features) = bundles.Run(bundles.Fp32);
        (float[] fp16, float[] fp16Features) = bundles.Run(bundles.Fp16);
        Assert.True(fp32.Zip(fp16).Max(p => Math.Abs(p.First - p.Second)) < 0.01f);
        Assert.True(fp32Features.Zip(fp16Features).Max(p => Math.Abs(p.First - p.Second) / (Math.Abs(p.First) + 1)) < 0.02f);
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

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }

        return dot / Math.Sqrt(aa * bb);
    }
}
