using DeepSlide.Learning;

namespace DeepSlide.Inference.Onnx;

/// <summary>
/// Appends a trained softmax head to the backbone graph: features [N,512] -> Gemm -> logits -> Softmax ->
/// <see cref="ProbabilitiesName"/> [N,C]. The features stay an output, for attention MIL and CAM.
/// </summary>
public static class ClassifierGraph
{
    public const string ProbabilitiesName = "probabilities";
    public const string LogitsName = "logits";

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
        graph.Add(OnnxGraph.GraphInitializer, OnnxGraph.FloatTensor("head_weight", [classes, head.Features], head.Weights));
        graph.Add(OnnxGraph.GraphInitializer, OnnxGraph.FloatTensor("head_bias", [classes], head.Bias));
        // IR version 3 wants every initializer listed among the inputs as well.
        graph.Add(OnnxGraph.GraphInput, OnnxGraph.ValueInfo("head_weight", classes, head.Features));
        graph.Add(OnnxGraph.GraphInput, OnnxGraph.ValueInfo("head_bias", classes));
        graph.Replace(OnnxGraph.GraphOutput, [
            OnnxGraph.ValueInfo(ProbabilitiesName, OnnxGraph.BatchDimension, classes),
            OnnxGraph.ValueInfo(ResNetBackbone.FeaturesName, OnnxGraph.BatchDimension, ResNetBackbone.FeatureCount),
        ]);
        model.Replace(OnnxGraph.ModelGraph, [graph]);
        return model;
    }
}
