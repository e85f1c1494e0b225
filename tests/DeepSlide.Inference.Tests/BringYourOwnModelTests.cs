using DeepSlide.Inference.Onnx;
using DeepSlide.Models;
using Google.Protobuf;
using Onnx;

namespace DeepSlide.Inference.Tests;

public sealed class BringYourOwnModelTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-byo-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>
    /// A stand-in for a model exported from PyTorch: input "input" [N,3,224,224] normalised by the caller, output
    /// "logits" = the per-channel means times 10 (GlobalAveragePool, Flatten, Gemm).
    /// </summary>
    private static byte[] TinyModel()
    {
        var graph = new GraphProto
        {
            Name = "byo",
            Node =
            {
                OnnxGraph.Node("GlobalAveragePool", "pool", ["input"], ["pooled"]),
                OnnxGraph.Node("Flatten", "flatten", ["pooled"], ["flat"], ("axis", 1)),
                OnnxGraph.Node("Gemm", "gemm", ["flat", "w", "b"], ["logits"], ("transB", 1)),
            },
            Initializer = { OnnxGraph.FloatTensor("w", [3, 3], [10, 0, 0, 0, 10, 0, 0, 0, 10]), OnnxGraph.FloatTensor("b", [3], [0, 0, 0]) },
            Input = { OnnxGraph.ValueInfo("input", "batch", 3, 224, 224) },
            Output = { OnnxGraph.ValueInfo("logits", "batch", 3) },
        };
        return new ModelProto { IrVersion = 7, OpsetImport = { new OperatorSetIdProto { Version = 13 } }, Graph = graph }.ToByteArray();
    }

    [Fact]
    public void A_hand_written_manifest_drives_channel_order_scaling_normalisation_and_softmax()
    {
        var manifest = new ModelManifest
        {
            Classes = ["x", "y", "z"],
            Input = new ModelInput { Name = "input", ChannelOrder = "BGR", PixelScale = 1 / 255.0, Mean = [0.4, 0.45, 0.5], Std = [0.2, 0.25, 0.3] },
            Output = new ModelOutput { Probabilities = "logits", IsSoftmax = false },
        };
        ModelBundle bundle = ModelBundle.Save(Path.Combine(_folder, "byo"), manifest, TinyModel());
        using PatchClassifier classifier = PatchClassifier.Load(ModelBundle.Load(bundle.Folder), new InferenceOptions { BatchSize = 2 });

        // A uniform patch of RGB (200, 100, 50): planes in BGR order are 50, 100, 200.
        var patch = new byte[224 * 224 * 3];
        for (int i = 0; i < patch.Length; i += 3)
        {
            (patch[i], patch[i + 1], patch[i + 2]) = ((byte)200, (byte)100, (byte)50);
        }

        var probabilities = new float[3];
        classifier.Classify([patch], probabilities);
        double[] logits = [10 * (50 / 255.0 - 0.4) / 0.2, 10 * (100 / 255.0 - 0.45) / 0.25, 10 * (200 / 255.0 - 0.5) / 0.3];
        double max = logits.Max();
        double[] expected = logits.Select(l => Math.Exp(l - max)).ToArray();
        double sum = expected.Sum();
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(expected[c] / sum, probabilities[c], 1e-4);
        }
    }

    [Fact]
    public void A_fixed_batch_of_one_is_named_with_the_way_out()
    {
        byte[] model = TinyModel();
        ModelProto parsed = OnnxGraph.Parse(model);
        GraphProto graph = OnnxGraph.Graph(parsed);
        graph.Input[0] = OnnxGraph.ValueInfo("input", 1, 3, 224, 224);
        graph.Output[0] = OnnxGraph.ValueInfo("logits", 1, 3);
        var manifest = new ModelManifest { Classes = ["x", "y", "z"], Input = new ModelInput { Name = "input" }, Output = new ModelOutput { Probabilities = "logits", IsSoftmax = false } };
        ModelBundle bundle = ModelBundle.Save(Path.Combine(_folder, "fixed"), manifest, parsed.ToByteArray());
        var ex = Assert.Throws<DeepSlideException>(() => PatchClassifier.Load(bundle, new InferenceOptions { BatchSize = 8 }).Dispose());
        Assert.Contains("fixed batch of 1", ex.Message);
        using PatchClassifier single = PatchClassifier.Load(bundle, new InferenceOptions { BatchSize = 1 });
        Assert.Equal(1, single.BatchSize);
    }
}
