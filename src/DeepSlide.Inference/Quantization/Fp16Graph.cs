using System.Runtime.InteropServices;
using DeepSlide.Inference.Onnx;

namespace DeepSlide.Inference.Quantization;

/// <summary>
/// An FP16 copy of a graph for the CUDA execution provider: every float32 initializer becomes float16, and the
/// graph's inputs and outputs stay float32 through a Cast at each, so callers feed and read the same tensors as with
/// the FP32 model. On the CPU provider ONNX Runtime casts around the nodes it has no float16 kernel for, so the model
/// still loads and runs there, slowly.
/// </summary>
public static class Fp16Graph
{
    public static ProtoMessage Convert(ProtoMessage model)
    {
        model = ProtoMessage.Parse(model.ToBytes());
        ProtoMessage graph = OnnxGraph.Graph(model);
        HashSet<string> initializerNames = graph.Messages(OnnxGraph.GraphInitializer).Select(t => t.String(OnnxGraph.TensorName)!).ToHashSet();
        var initializers = graph.Messages(OnnxGraph.GraphInitializer).Select(t =>
            t.Int(OnnxGraph.TensorDataType) == OnnxGraph.ElemFloat ? Half(t) : t).ToList();

        IReadOnlyList<string> inputs = OnnxGraph.InputNames(graph);
        IReadOnlyList<string> outputs = OnnxGraph.OutputNames(graph);
        var nodes = new List<ProtoMessage>();
        foreach (string input in inputs)
        {
            nodes.Add(OnnxGraph.Node("Cast", $"{input}_to_fp16", [input], [$"{input}_fp16"], ("to", OnnxGraph.ElemFloat16)));
        }

        foreach (ProtoMessage node in graph.Messages(OnnxGraph.GraphNode))
        {
            var copy = new ProtoMessage();
            foreach (ProtoField f in node.Fields)
            {
                if (f.Number == OnnxGraph.NodeInput && inputs.Contains(f.Text))
                {
                    copy.Add(f.Number, $"{f.Text}_fp16");
                }
                else if (f.Number == OnnxGraph.NodeOutput && outputs.Contains(f.Text))
                {
                    copy.Add(f.Number, $"{f.Text}_fp16");
                }
                else
                {
                    copy.Fields.Add(f);
                }
            }

            nodes.Add(copy);
        }

        // A graph output that is also read inside the graph is read as the float16 it now is.
        for (int i = 0; i < nodes.Count; i++)
        {
            ProtoMessage node = nodes[i];
            if (OnnxGraph.Inputs(node).Any(outputs.Contains) && OnnxGraph.OpType(node) != "Cast")
            {
                var copy = new ProtoMessage();
                foreach (ProtoField f in node.Fields)
                {
                    copy.Fields.Add(f.Number == OnnxGraph.NodeInput && outputs.Contains(f.Text) ? new ProtoField(f.Number, WireType.LengthDelimited, 0, System.Text.Encoding.UTF8.GetBytes($"{f.Text}_fp16")) : f);
                }

                nodes[i] = copy;
            }
        }

        foreach (string output in outputs)
        {
            nodes.Add(OnnxGraph.Node("Cast", $"{output}_to_fp32", [$"{output}_fp16"], [output], ("to", OnnxGraph.ElemFloat)));
        }

        graph.Replace(OnnxGraph.GraphNode, nodes);
        graph.Replace(OnnxGraph.GraphInitializer, initializers);
        graph.Replace(OnnxGraph.GraphInput, graph.Messages(OnnxGraph.GraphInput).Where(v => !initializerNames.Contains(v.String(OnnxGraph.ValueInfoName)!)).ToList());
        graph.Replace(OnnxGraph.GraphValueInfo, []);
        model.Replace(OnnxGraph.ModelGraph, [graph]);
        QdqGraph.SetOpset(model, (int)Math.Max(OnnxGraph.DefaultOpset(model), 7));
        return model;
    }

    private static ProtoMessage Half(ProtoMessage tensor)
    {
        float[] values = OnnxGraph.Floats(tensor);
        var halves = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            halves[i] = BitConverter.HalfToUInt16Bits((Half)values[i]);
        }

        return OnnxGraph.Tensor(tensor.String(OnnxGraph.TensorName)!, OnnxGraph.Dims(tensor), OnnxGraph.ElemFloat16, MemoryMarshal.AsBytes(halves.AsSpan()));
    }
}
