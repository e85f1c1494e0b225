using DeepSlide.Inference.Onnx;
using DeepSlide.Models;
using Onnx;

namespace DeepSlide.Inference.Quantization;

/// <summary>What arithmetic a graph does, read from the graph itself, to hold a manifest to its word.</summary>
public static class GraphPrecision
{
    public static string Of(ModelProto model)
    {
        GraphProto graph = OnnxGraph.Graph(model);
        if (graph.Node.Any(n => n.OpType is "QuantizeLinear" or "DequantizeLinear"))
        {
            return ModelPrecision.Int8;
        }

        return graph.Initializer.Any(t => t.DataType == OnnxGraph.ElemFloat16)
            ? ModelPrecision.Fp16
            : ModelPrecision.Fp32;
    }

    /// <summary>Fails, naming the model file, when the graph is not what the manifest says it is.</summary>
    public static void Check(ModelManifest manifest, byte[] onnx, string path)
    {
        string actual;
        try
        {
            actual = Of(OnnxGraph.Parse(onnx));
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
