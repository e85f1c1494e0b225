using System.Runtime.InteropServices;

namespace DeepSlide.Inference.Onnx;

/// <summary>
/// Field numbers of the ONNX messages used here (onnx/onnx.proto), and builders for the few messages this project
/// writes. Everything else in a model passes through untouched.
/// </summary>
public static class OnnxGraph
{
    // ModelProto, OperatorSetIdProto
    public const int ModelIrVersion = 1, ModelGraph = 7, ModelOpsetImport = 8;
    public const int OpsetDomain = 1, OpsetVersion = 2;

    // GraphProto
    public const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12, GraphValueInfo = 13;

    // NodeProto
    public const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5;

    // AttributeProto
    public const int AttributeName = 1, AttributeFloat = 2, AttributeInt = 3, AttributeType = 20;
    public const int AttributeTypeFloat = 1, AttributeTypeInt = 2;

    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, Dimension
    public const int ValueInfoName = 1, ValueInfoType = 2, TypeTensor = 1, TensorElemType = 1, TensorShape = 2, ShapeDim = 1, DimValue = 1, DimParam = 2;

    // TensorProto and its element types
    public const int TensorDims = 1, TensorDataType = 2, TensorFloatData = 4, TensorName = 8, TensorRawData = 9;
    public const int ElemFloat = 1, ElemUint8 = 2, ElemInt8 = 3, ElemInt32 = 6, ElemInt64 = 7, ElemFloat16 = 10;

    // AttributeProto: a list of ints
    public const int AttributeInts = 8, AttributeTypeInts = 7;

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

    public static ProtoMessage FloatTensor(string name, long[] dims, ReadOnlySpan<float> values) => Tensor(name, dims, ElemFloat, MemoryMarshal.AsBytes(values));

    /// <summary>A tensor of any element type from its little-endian bytes.</summary>
    public static ProtoMessage Tensor(string name, long[] dims, int elementType, ReadOnlySpan<byte> raw)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
        }

        return new ProtoMessage().Add(TensorDims, ProtoMessage.PackVarints(dims)).Add(TensorDataType, (ulong)elementType).Add(TensorName, name).Add(TensorRawData, raw.ToArray());
    }

    /// <summary>A tensor's dimensions, written packed or one field each (both are valid protobuf).</summary>
    public static long[] Dims(ProtoMessage tensor) =>
        tensor.All(TensorDims).SelectMany(f => f.Type == WireType.Varint ? [(long)f.Value] : ProtoMessage.UnpackVarints(f.Bytes)).ToArray();

    /// <summary>A float tensor's values, from raw data or from float_data.</summary>
    public static float[] Floats(ProtoMessage tensor)
    {
        string name = tensor.String(TensorName) ?? "(unnamed)";
        if (tensor.Int(TensorDataType) != ElemFloat)
        {
            throw new InvalidDataException($"Initializer '{name}' is not float32.");
        }

        if (tensor.First(TensorRawData) is ProtoField raw)
        {
            return MemoryMarshal.Cast<byte, float>(raw.Bytes.Span).ToArray();
        }

        var values = new List<float>();
        foreach (ProtoField f in tensor.All(TensorFloatData))
        {
            if (f.Type == WireType.Fixed32)
            {
                values.Add(BitConverter.UInt32BitsToSingle((uint)f.Value));
            }
            else
            {
                values.AddRange(MemoryMarshal.Cast<byte, float>(f.Bytes.Span).ToArray());
            }
        }

        return values.ToArray();
    }

    /// <summary>A float tensor value whose shape is left to the runtime (calibration outputs).</summary>
    public static ProtoMessage FloatValue(string name) =>
        new ProtoMessage().Add(ValueInfoName, name).Add(ValueInfoType, new ProtoMessage().Add(TypeTensor, new ProtoMessage().Add(TensorElemType, ElemFloat)));

    public static string OpType(ProtoMessage node) => node.String(NodeOpType) ?? string.Empty;

    public static IReadOnlyList<string> Inputs(ProtoMessage node) => node.All(NodeInput).Select(f => f.Text).ToList();

    public static IReadOnlyList<string> Outputs(ProtoMessage node) => node.All(NodeOutput).Select(f => f.Text).ToList();

    /// <summary>The version of the default (ai.onnx) operator set the model imports.</summary>
    public static long DefaultOpset(ProtoMessage model) =>
        model.Messages(ModelOpsetImport).Where(o => string.IsNullOrEmpty(o.String(OpsetDomain))).Select(o => o.Int(OpsetVersion) ?? 0).DefaultIfEmpty(0).Max();

    /// <summary>Names of the graph's inputs that are not initializers (the real inputs).</summary>
    public static IReadOnlyList<string> InputNames(ProtoMessage graph)
    {
        var initializers = graph.Messages(GraphInitializer).Select(t => t.String(TensorName)).ToHashSet();
        return graph.Messages(GraphInput).Select(v => v.String(ValueInfoName)!).Where(n => !initializers.Contains(n)).ToList();
    }

    public static IReadOnlyList<string> OutputNames(ProtoMessage graph) =>
        graph.Messages(GraphOutput).Select(v => v.String(ValueInfoName)!).ToList();
}
