using DeepSlide.Inference.Onnx;
using DeepSlide.Models;

namespace DeepSlide.Inference.Quantization;

/// <summary>What arithmetic a graph does, read from the graph itself, to hold a manifest to its word.</summary>
public static class GraphPrecision
{
    public static string Of(ProtoMessage model)
    {
        ProtoMessage graph = OnnxGraph.Graph(model);
        if (graph.Messages(OnnxGraph.GraphNode).Any(n => OnnxGraph.OpType(n) is "QuantizeLinear" or "DequantizeLinear"))
        {
            return ModelPrecision.Int8;
        }

        return graph.Messages(OnnxGraph.GraphInitializer).Any(t => t.Int(OnnxGraph.TensorDataType) == OnnxGraph.ElemFloat16)
            ? ModelPrecision.Fp16
            : ModelPrecision.Fp32;
    }

    /// <summary>Fails, naming the model file, when the graph is not what the manifest says it is.</summary>
    public static void Check(ModelManifest manifest, byte[] onnx, string path)
    {
        string actual;
        try
        {
            actual = Of(ProtoMessage.Parse(onnx));
        }
        catch (InvalidDataException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, path, $"the model file is not an ONNX model: {ex.Message}", ex);
        }

        if (actual != manifest.Onnx.Precision)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, path, $"the manifest says the model is {manifest.Onnx.Precision}, but its graph is {actual}.");
        }
    }
}
