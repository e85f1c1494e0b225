using System.Runtime.InteropServices;
using DeepSlide.Inference.Onnx;
using Onnx;

namespace DeepSlide.Inference.Quantization;

/// <summary>
/// An FP16 copy of a graph for the CUDA execution provider: every float32 initializer becomes float16, and the
/// graph's inputs and outputs stay float32 through a Cast at each, so callers feed and read the same tensors as with
/// the FP32 model. On the CPU provider ONNX Runtime casts around the nodes it has no float16 kernel for, so the model
/// still loads and runs there, slowly.
/// </summary>
public static class Fp16Graph
{
    public static ModelProto Convert(ModelProto model)
    {
        model = model.Clone();
        GraphProto graph = OnnxGraph.Graph(model);
        HashSet<string> initializerNames = graph.Initializer.Select(t => t.Name).ToHashSet();
        var initializers = graph.Initializer.Select(t => t.DataType == OnnxGraph.ElemFloat ? Half(t) : t).ToList();

        IReadOnlyList<string> inputs = OnnxGraph.InputNames(graph);
        IReadOnlyList<string> outputs = OnnxGraph.OutputNames(graph);
        string Fp16(string name) => $"{name}_fp16";
        var nodes = new List<NodeProto>();
        foreach (string input in inputs)
        {
            nodes.Add(OnnxGraph.Node("Cast", $"{input}_to_fp16", [input], [Fp16(input)], ("to", OnnxGraph.ElemFloat16)));
        }

        // A graph output that is also read inside the graph is read as the float16 it now is.
        nodes.AddRange(graph.Node.Select(node => OnnxGraph.Renamed(
            node,
            name => inputs.Contains(name) || outputs.Contains(name) ? Fp16(name) : name,
            name => outputs.Contains(name) ? Fp16(name) : name)));
        foreach (string output in outputs)
        {
            nodes.Add(OnnxGraph.Node("Cast", $"{output}_to_fp32", [Fp16(output)], [output], ("to", OnnxGraph.ElemFloat)));
        }

        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        graph.Initializer.Clear();
        graph.Initializer.AddRange(initializers);
        var realInputs = graph.Input.Where(v => !initializerNames.Contains(v.Name)).ToList();
        graph.Input.Clear();
        graph.Input.AddRange(realInputs);
        graph.ValueInfo.Clear();
        OnnxGraph.SetOpset(model, (int)Math.Max(OnnxGraph.DefaultOpset(model), 7));
        return model;
    }

    private static TensorProto Half(TensorProto tensor)
    {
        float[] values = OnnxGraph.Floats(tensor);
        var halves = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            halves[i] = BitConverter.HalfToUInt16Bits((Half)values[i]);
        }

        return OnnxGraph.Tensor(tensor.Name, [.. tensor.Dims], OnnxGraph.ElemFloat16, MemoryMarshal.AsBytes(halves.AsSpan()));
    }
}
