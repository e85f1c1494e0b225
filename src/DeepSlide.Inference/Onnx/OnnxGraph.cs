using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace DeepSlide.Inference.Onnx;

/// <summary>
/// Reading, writing and building the few ONNX messages this project edits, on the classes generated from
/// onnx.proto (OnnxSharp over Google.Protobuf). Everything else in a model, unknown fields included, passes through.
/// </summary>
public static class OnnxGraph
{
    // TensorProto.DataType values used here.
    public const int ElemFloat = (int)TensorProto.Types.DataType.Float;
    public const int ElemUint8 = (int)TensorProto.Types.DataType.Uint8;
    public const int ElemInt8 = (int)TensorProto.Types.DataType.Int8;
    public const int ElemInt32 = (int)TensorProto.Types.DataType.Int32;
    public const int ElemInt64 = (int)TensorProto.Types.DataType.Int64;
    public const int ElemFloat16 = (int)TensorProto.Types.DataType.Float16;

    public const string BatchDimension = "N";

    /// <summary>A model from its bytes; anything that is not a protobuf ModelProto is refused as invalid data.</summary>
    public static ModelProto Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
    }

    public static GraphProto Graph(ModelProto model) =>
        model.Graph ?? throw new InvalidDataException("The ONNX model has no graph.");

    /// <summary>A float tensor value description; a dimension is a number, or a string for a symbolic one.</summary>
    public static ValueInfoProto ValueInfo(string name, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object d in dims)
        {
            shape.Dim.Add(d is string symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = ElemFloat, Shape = shape } } };
    }

    /// <summary>A float tensor value whose shape is left to the runtime (calibration outputs).</summary>
    public static ValueInfoProto FloatValue(string name) =>
        new() { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = ElemFloat } } };

    /// <summary>A node; an attribute's value is a float, or else an integer.</summary>
    public static NodeProto Node(string opType, string name, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { Name = name, OpType = opType };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach ((string attributeName, object value) in attributes)
        {
            node.Attribute.Add(value is float f
                ? new AttributeProto { Name = attributeName, F = f, Type = AttributeProto.Types.AttributeType.Float }
                : new AttributeProto { Name = attributeName, I = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture), Type = AttributeProto.Types.AttributeType.Int });
        }

        return node;
    }

    public static TensorProto FloatTensor(string name, long[] dims, ReadOnlySpan<float> values) => Tensor(name, dims, ElemFloat, MemoryMarshal.AsBytes(values));

    /// <summary>A tensor of any element type from its little-endian bytes.</summary>
    public static TensorProto Tensor(string name, long[] dims, int elementType, ReadOnlySpan<byte> raw)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
        }

        var tensor = new TensorProto { Name = name, DataType = elementType, RawData = ByteString.CopyFrom(raw) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    /// <summary>A float tensor's values, from raw data or from float_data.</summary>
    public static float[] Floats(TensorProto tensor)
    {
        if (tensor.DataType != ElemFloat)
        {
            throw new InvalidDataException($"Initializer '{(tensor.Name.Length > 0 ? tensor.Name : "(unnamed)")}' is not float32.");
        }

        return tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : [.. tensor.FloatData];
    }

    /// <summary>The version of the default (ai.onnx) operator set the model imports.</summary>
    public static long DefaultOpset(ModelProto model) =>
        model.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain)).Select(o => o.Version).DefaultIfEmpty(0).Max();

    /// <summary>Names of the graph's inputs that are not initializers (the real inputs).</summary>
    public static IReadOnlyList<string> InputNames(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet();
        return graph.Input.Select(v => v.Name).Where(n => !initializers.Contains(n)).ToList();
    }

    public static IReadOnlyList<string> OutputNames(GraphProto graph) => graph.Output.Select(v => v.Name).ToList();

    /// <summary>A copy of the node with its inputs (and outputs) renamed by the given functions.</summary>
    public static NodeProto Renamed(NodeProto node, Func<string, string> inputs, Func<string, string>? outputs = null)
    {
        NodeProto copy = node.Clone();
        for (int i = 0; i < copy.Input.Count; i++)
        {
            copy.Input[i] = inputs(copy.Input[i]);
        }

        for (int i = 0; outputs is not null && i < copy.Output.Count; i++)
        {
            copy.Output[i] = outputs(copy.Output[i]);
        }

        return copy;
    }

    /// <summary>Sets the default operator set and the IR version it needs; other domains are kept.</summary>
    public static void SetOpset(ModelProto model, int opset)
    {
        var others = model.OpsetImport.Where(o => !string.IsNullOrEmpty(o.Domain)).ToList();
        model.OpsetImport.Clear();
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = opset });
        model.OpsetImport.AddRange(others);
        model.IrVersion = 7;
    }
}
