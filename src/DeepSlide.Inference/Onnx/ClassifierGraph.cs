using DeepSlide.Learning;
using Onnx;

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

    public static ModelProto Build(ModelProto backbone, SoftmaxModel head)
    {
        if (head.Features != ResNetBackbone.FeatureCount)
        {
            throw new ArgumentException($"The head takes {head.Features} features; the backbone gives {ResNetBackbone.FeatureCount}.", nameof(head));
        }

        ModelProto model = backbone.Clone();
        GraphProto graph = OnnxGraph.Graph(model);
        int classes = head.Classes;
        graph.Node.Add(OnnxGraph.Node("Gemm", "deepslide_head", [ResNetBackbone.FeaturesName, "head_weight", "head_bias"], [LogitsName], ("transB", 1)));
        graph.Node.Add(OnnxGraph.Node("Softmax", "deepslide_softmax", [LogitsName], [ProbabilitiesName], ("axis", 1)));
        graph.Node.Add(OnnxGraph.Node("Identity", "deepslide_feature_map", [ResNetBackbone.LastFeatureMap], [FeatureMapName]));
        graph.Initializer.Add(OnnxGraph.FloatTensor("head_weight", [classes, head.Features], head.Weights));
        graph.Initializer.Add(OnnxGraph.FloatTensor("head_bias", [classes], head.Bias));
        // IR version 3 wants every initializer listed among the inputs as well.
        graph.Input.Add(OnnxGraph.ValueInfo("head_weight", classes, head.Features));
        graph.Input.Add(OnnxGraph.ValueInfo("head_bias", classes));
        graph.Output.Clear();
        graph.Output.Add(OnnxGraph.ValueInfo(ProbabilitiesName, OnnxGraph.BatchDimension, classes));
        graph.Output.Add(OnnxGraph.ValueInfo(ResNetBackbone.FeaturesName, OnnxGraph.BatchDimension, ResNetBackbone.FeatureCount));
        graph.Output.Add(OnnxGraph.ValueInfo(FeatureMapName, OnnxGraph.BatchDimension, ResNetBackbone.FeatureCount, ResNetBackbone.FeatureMapSide, ResNetBackbone.FeatureMapSide));
        return model;
    }

    /// <summary>The model with its head's weights and bias replaced by <paramref name="head"/>'s; nothing else changes.</summary>
    public static ModelProto WithHead(ModelProto model, SoftmaxModel head)
    {
        model = model.Clone();
        GraphProto graph = OnnxGraph.Graph(model);
        int replaced = 0;
        for (int i = 0; i < graph.Initializer.Count; i++)
        {
            switch (graph.Initializer[i].Name)
            {
                case "head_weight":
                    graph.Initializer[i] = OnnxGraph.FloatTensor("head_weight", [head.Classes, head.Features], head.Weights);
                    replaced++;
                    break;
                case "head_bias":
                    graph.Initializer[i] = OnnxGraph.FloatTensor("head_bias", [head.Classes], head.Bias);
                    replaced++;
                    break;
            }
        }

        if (replaced != 2)
        {
            throw new InvalidDataException("The model has no 'head_weight' and 'head_bias' initializers; it was not exported by 'deepslide train'.");
        }

        return model;
    }

    /// <summary>The head's weights and bias, read back from an exported model's initializers (CAM needs them).</summary>
    public static SoftmaxModel ReadHead(byte[] onnx)
    {
        GraphProto graph = OnnxGraph.Graph(OnnxGraph.Parse(onnx));
        float[] Tensor(string name)
        {
            TensorProto tensor = graph.Initializer.FirstOrDefault(t => t.Name == name)
                ?? throw new InvalidDataException($"The model has no initializer '{name}'; it was not exported by 'deepslide train'.");
            return tensor.RawData.Length > 0 ? OnnxGraph.Floats(tensor) : throw new InvalidDataException($"Initializer '{name}' has no raw data.");
        }

        float[] weights = Tensor("head_weight"), bias = Tensor("head_bias");
        return new SoftmaxModel(bias.Length, weights.Length / bias.Length, weights, bias);
    }
}
