using DeepSlide.Learning;

namespace DeepSlide.Inference.Onnx;

/// <summary>
/// Appends a trained softmax head to the backbone graph: features [N,512] -> Gemm -> logits -> Softmax ->
/// <see cref="ProbabilitiesName"/> [N,C]. The features stay an output (for attention MIL), and the last
/// convolutional feature map becomes one (for class activation maps).
/// </summary>
public static class ClassifierGraph
{
    public const string ProbabilitiesName = "probabilities";
    public const string LogitsName = "logits";
    public const string FeatureMapName = "feature_map";

    public static ProtoMessage Build(ProtoMessage backbone, SoftmaxModel head)
    {
        if (head.Features != ResNetBackbone.FeatureCount)
        {
            throw new ArgumentException($"The head takes {head.Features} features; the backbone gives {ResNetBackbone.FeatureCount}.", nameof(head));
        }

        ProtoMessage model = ProtoMessage.Parse(backbone.ToBytes());
        ProtoMessage graph = OnnxGraph.Graph(model);
        int classes = head.Classes;
        graph.Add(OnnxGraph.GraphNode, OnnxGraph.Node("Gemm", "deepslide_head", [ResNetBackbone.FeaturesName, "head_weight", "head_bias"], [LogitsName], ("transB", 1)));
        graph.Add(OnnxGraph.GraphNode, OnnxGraph.Node("Softmax", "deepslide_softmax", [LogitsName], [ProbabilitiesName], ("axis", 1)));
        graph.Add(OnnxGraph.GraphNode, OnnxGraph.Node("Identity", "deepslide_feature_map", [ResNetBackbone.LastFeatureMap], [FeatureMapName]));
        graph.Add(OnnxGraph.GraphInitializer, OnnxGraph.FloatTensor("head_weight", [classes, head.Features], head.Weights));
        graph.Add(OnnxGraph.GraphInitializer, OnnxGraph.FloatTensor("head_bias", [classes], head.Bias));
        // IR version 3 wants every initializer listed among the inputs as well.
        graph.Add(OnnxGraph.GraphInput, OnnxGraph.ValueInfo("head_weight", classes, head.Features));
        graph.Add(OnnxGraph.GraphInput, OnnxGraph.ValueInfo("head_bias", classes));
        graph.Replace(OnnxGraph.GraphOutput, [
            OnnxGraph.ValueInfo(ProbabilitiesName, OnnxGraph.BatchDimension, classes),
            OnnxGraph.ValueInfo(ResNetBackbone.FeaturesName, OnnxGraph.BatchDimension, ResNetBackbone.FeatureCount),
            OnnxGraph.ValueInfo(FeatureMapName, OnnxGraph.BatchDimension, ResNetBackbone.FeatureCount, ResNetBackbone.FeatureMapSide, ResNetBackbone.FeatureMapSide),
        ]);
        model.Replace(OnnxGraph.ModelGraph, [graph]);
        return model;
    }

    /// <summary>The model with its head's weights and bias replaced by <paramref name="head"/>'s; nothing else changes.</summary>
    public static ProtoMessage WithHead(ProtoMessage model, SoftmaxModel head)
    {
        model = ProtoMessage.Parse(model.ToBytes());
        ProtoMessage graph = OnnxGraph.Graph(model);
        List<ProtoMessage> initializers = [.. graph.Messages(OnnxGraph.GraphInitializer)];
        int replaced = 0;
        for (int i = 0; i < initializers.Count; i++)
        {
            switch (initializers[i].String(OnnxGraph.TensorName))
            {
                case "head_weight":
                    initializers[i] = OnnxGraph.FloatTensor("head_weight", [head.Classes, head.Features], head.Weights);
                    replaced++;
                    break;
                case "head_bias":
                    initializers[i] = OnnxGraph.FloatTensor("head_bias", [head.Classes], head.Bias);
                    replaced++;
                    break;
            }
        }

        if (replaced != 2)
        {
            throw new InvalidDataException("The model has no 'head_weight' and 'head_bias' initializers; it was not exported by 'deepslide train'.");
        }

        graph.Replace(OnnxGraph.GraphInitializer, initializers);
        model.Replace(OnnxGraph.ModelGraph, [graph]);
        return model;
    }

    /// <summary>The head's weights and bias, read back from an exported model's initializers (CAM needs them).</summary>
    public static SoftmaxModel ReadHead(byte[] onnx)
    {
        ProtoMessage graph = OnnxGraph.Graph(ProtoMessage.Parse(onnx));
        float[] Tensor(string name)
        {
            ProtoMessage tensor = graph.Messages(OnnxGraph.GraphInitializer).FirstOrDefault(t => t.String(OnnxGraph.TensorName) == name)
                ?? throw new InvalidDataException($"The model has no initializer '{name}'; it was not exported by 'deepslide train'.");
            ReadOnlyMemory<byte> raw = tensor.First(OnnxGraph.TensorRawData)?.Bytes ?? throw new InvalidDataException($"Initializer '{name}' has no raw data.");
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw.Span).ToArray();
        }

        float[] weights = Tensor("head_weight"), bias = Tensor("head_bias");
        return new SoftmaxModel(bias.Length, weights.Length / bias.Length, weights, bias);
    }
}
