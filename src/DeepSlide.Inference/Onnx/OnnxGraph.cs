using System.Runtime.InteropServices;

namespace DeepSlide.Inference.Onnx;

/// <summary>
/// Field numbers of the ONNX messages used here (onnx/onnx.proto), and builders for the few messages this project
/// writes. Everything else in a model passes through untouched.
/// </summary>
public static class OnnxGraph
{
    // ModelProto
    public const int ModelGraph = 7;

    // GraphProto
    public const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12, GraphValueInfo = 13;

    // NodeProto
    public const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5;

    // AttributeProto
    public const int AttributeName = 1, AttributeFloat = 2, AttributeInt = 3, AttributeType = 20;
    public const int AttributeTypeFloat = 1, AttributeTypeInt = 2;

    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, Dimension
    public const int ValueInfoName = 1, ValueInfoType = 2, TypeTensor = 1, TensorElemType = 1, TensorShape = 2, ShapeDim = 1, DimValue = 1, DimParam = 2;

    // TensorProto
    public const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9;
    public const int ElemFloat = 1;

    public const string BatchDimension = "N";

    public static ProtoMessage Graph(ProtoMessage model) =>
        model.First(ModelGraph)?.Message ?? throw new InvalidDataException("The ONNX model has no graph.");

    /// <summary>A float tensor value description; a dimension is a number, or a string for a symbolic one.</summary>
    public static ProtoMessage ValueInfo(string name, params object[] dims)
    {
        var shape = new ProtoMessage();
        foreach (object d in dims)
        {
            shape.Add(ShapeDim, d is string symbol ? new ProtoMessage().Add(DimParam, symbol) : new ProtoMessage().Add(DimValue, (ulong)Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture)));
        }

        var tensor = new ProtoMessage().Add(TensorElemType, ElemFloat).Add(TensorShape, shape);
        return new ProtoMessage().Add(ValueInfoName, name).Add(ValueInfoType, new ProtoMessage().Add(TypeTensor, tensor));
    }

    public static ProtoMessage Node(string opType, string name, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new ProtoMessage();
        foreach (string i in inputs)
        {
            node.Add(NodeInput, i);
        }

        foreach (string o in outputs)
        {
            node.Add(NodeOutput, o);
        }

        node.Add(NodeName, name).Add(NodeOpType, opType);
        foreach ((string attributeName, object value) in attributes)
        {
            var attribute = new ProtoMessage().Add(AttributeName, attributeName);
            if (value is float f)
            {
                attribute.AddFloat(AttributeFloat, f).Add(AttributeType, AttributeTypeFloat);
            }
            else
            {
                attribute.Add(AttributeInt, (ulong)Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)).Add(AttributeType, AttributeTypeInt);
            }

            node.Add(NodeAttribute, attribute);
        }

        return node;
    }

    public static ProtoMessage FloatTensor(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var tensor = new ProtoMessage().Add(TensorDims, ProtoMessage.PackVarints(dims)).Add(TensorDataType, ElemFloat).Add(TensorName, name);
        byte[] raw = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
        }

        return tensor.Add(TensorRawData, raw);
    }

    /// <summary>Names of the graph's inputs that are not initializers (the real inputs).</summary>
    public static IReadOnlyList<string> InputNames(ProtoMessage graph)
    {
        var initializers = graph.Messages(GraphInitializer).Select(t => t.String(TensorName)).ToHashSet();
        return graph.Messages(GraphInput).Select(v => v.String(ValueInfoName)!).Where(n => !initializers.Contains(n)).ToList();
    }

    public static IReadOnlyList<string> OutputNames(ProtoMessage graph) =>
        graph.Messages(GraphOutput).Select(v => v.String(ValueInfoName)!).ToList();
}
