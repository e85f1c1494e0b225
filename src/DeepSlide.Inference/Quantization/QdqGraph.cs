using System.Runtime.InteropServices;
using DeepSlide.Inference.Onnx;
using Onnx;

namespace DeepSlide.Inference.Quantization;

/// <summary>An activation's calibrated range, in its float units.</summary>
public readonly record struct ActivationRange(float Low, float High);

/// <summary>
/// Rewrites an FP32 graph whose BatchNormalization is already folded into its convolutions into the QDQ form ONNX
/// Runtime turns into int8 kernels (QLinearConv, QLinearAdd, uint8 MaxPool): every Conv reads its activation through
/// QuantizeLinear → DequantizeLinear (per-tensor uint8, asymmetric) and its weights through DequantizeLinear of int8
/// per output channel (symmetric), with the bias as int32 at the input scale times the weight scale. Conv and Add
/// outputs are quantized too, so the int8 chain is not broken between layers; a Relu that is the only reader of such
/// an output is folded into its QuantizeLinear (zero point 0 clamps at zero, as ONNX Runtime's ReluQuantFusion does).
/// The classifier head (one Gemm over the 512 pooled features) stays float: it costs 512 multiply-adds a class, and
/// a trained head's large weights lose classes to int8 rounding (QuantizationTests measures it). Opset becomes 13
/// (per-channel axis), IR version 7. Convolutions named in <c>floatConvs</c> are left float (weights and arithmetic),
/// reading the dequantized activation before them; what they write is quantized again only where an int8 node reads it.
/// </summary>
public static class QdqGraph
{
    public const int Opset = 13;

    private static readonly string[] Quantized = ["Conv", "Add", "MaxPool"];

    /// <summary>
    /// The activations whose ranges <see cref="Rewrite"/> needs: what each quantized node reads and what each Conv,
    /// Add or fused Relu writes.
    /// </summary>
    public static IReadOnlyList<string> ActivationsToCalibrate(ModelProto model, IReadOnlySet<string>? floatConvs = null)
    {
        Plan plan = Plan.Of(OnnxGraph.Graph(model), floatConvs);
        return plan.Points.Select(p => p.RangeOf).Distinct().ToList();
    }

    /// <summary>Every convolution's output tensor, in graph order: the names <see cref="Rewrite"/>'s float convolutions are given by.</summary>
    public static IReadOnlyList<string> Convolutions(ModelProto model) =>
        [.. OnnxGraph.Graph(model).Node.Where(n => n.OpType == "Conv").Select(n => n.Output[0])];

    /// <param name="floatConvs">Convolutions, by their output tensor, that stay float: they read the dequantized activation and keep float weights.</param>
    public static ModelProto Rewrite(ModelProto model, IReadOnlyDictionary<string, ActivationRange> ranges, IReadOnlySet<string>? floatConvs = null)
    {
        model = model.Clone();
        GraphProto graph = OnnxGraph.Graph(model);
        if (graph.Node.Any(n => n.OpType == "BatchNormalization"))
        {
            throw new InvalidDataException("The graph still has BatchNormalization nodes; fold them into the convolutions first (ONNX Runtime's basic optimization does).");
        }

        Plan plan = Plan.Of(graph, floatConvs);
        Dictionary<string, TensorProto> initializers = graph.Initializer.ToDictionary(t => t.Name);
        var newInitializers = new List<TensorProto>();
        var quantParams = new Dictionary<string, (float Scale, byte Zero)>();
        var nodes = new List<NodeProto>();

        // One Q → DQ per quantized tensor, placed right after whatever writes it; readers switch to the DQ's output.
        var rename = new Dictionary<string, string>();
        var pointsAfter = plan.Points.ToLookup(p => p.Tensor);
        foreach (QuantPoint point in plan.Points)
        {
            rename[point.Tensor] = point.Output;
        }

        void Emit(QuantPoint point)
        {
            (float scale, byte zero) = point.SameAs is { } same
                ? quantParams[same]
                : Uint8(ranges.TryGetValue(point.RangeOf, out ActivationRange r) ? r : throw new InvalidDataException($"No calibrated range for '{point.RangeOf}'."), point.ClampAtZero);
            quantParams[point.Output] = (scale, zero);
            string prefix = $"qdq_{nodes.Count}";
            newInitializers.Add(OnnxGraph.FloatTensor($"{prefix}_scale", [], [scale]));
            newInitializers.Add(OnnxGraph.Tensor($"{prefix}_zero", [], OnnxGraph.ElemUint8, [zero]));
            nodes.Add(OnnxGraph.Node("QuantizeLinear", $"{prefix}_q", [point.Tensor, $"{prefix}_scale", $"{prefix}_zero"], [$"{prefix}_u8"]));
            nodes.Add(OnnxGraph.Node("DequantizeLinear", $"{prefix}_dq", [$"{prefix}_u8", $"{prefix}_scale", $"{prefix}_zero"], [point.Output]));
        }

        foreach (QuantPoint point in pointsAfter[string.Empty])
        {
            Emit(point);
        }

        foreach (string input in graph.Input.Select(v => v.Name))
        {
            foreach (QuantPoint point in pointsAfter[input])
            {
                Emit(point);
            }
        }

        foreach (NodeProto node in graph.Node)
        {
            if (plan.FusedRelus.Contains(node.Output[0]))
            {
                continue;
            }

            string op = node.OpType;
            NodeProto rewired = RewireInputs(node, plan, rename);
            if (op == "Conv" && plan.IsQuantized(node))
            {
                rewired = QuantizeWeights(rewired, initializers, quantParams, newInitializers, nodes);
            }
            else if (op == "Split")
            {
                rewired = SplitWithInput(rewired, newInitializers);
            }

            nodes.Add(rewired);
            foreach (string output in node.Output)
            {
                foreach (QuantPoint point in pointsAfter[output])
                {
                    Emit(point);
                }
            }
        }

        // Weights that were quantized are dropped as floats; every initializer leaves the inputs, so the runtime
        // treats them as constants (an initializer listed as an input can be overridden, and is not folded).
        HashSet<string> replaced = plan.QuantizedWeights(graph);
        var kept = graph.Initializer.Where(t => !replaced.Contains(t.Name)).Concat(newInitializers).ToList();
        HashSet<string> initializerNames = initializers.Keys.ToHashSet();
        var inputs = graph.Input.Where(v => !initializerNames.Contains(v.Name)).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        graph.Initializer.Clear();
        graph.Initializer.AddRange(kept);
        graph.Input.Clear();
        graph.Input.AddRange(inputs);
        graph.ValueInfo.Clear();
        OnnxGraph.SetOpset(model, Opset);
        return model;
    }

    /// <summary>Uint8 scale and zero point covering [low, high] and zero; a clamp at zero makes the zero point 0.</summary>
    public static (float Scale, byte Zero) Uint8(ActivationRange range, bool clampAtZero)
    {
        float low = clampAtZero ? 0 : Math.Min(0, range.Low);
        float high = Math.Max(0, range.High);
        if (high - low < 1e-8f)
        {
            high = low + 1e-8f;
        }

        float scale = (high - low) / 255f;
        byte zero = (byte)Math.Clamp(MathF.Round(-low / scale), 0, 255);
        return (scale, zero);
    }

    /// <summary>Symmetric int8 per output channel (axis 0): scales max|w| / 127, values in [-127, 127].</summary>
    public static (sbyte[] Values, float[] Scales) Int8PerChannel(float[] weights, int channels)
    {
        int per = weights.Length / channels;
        var values = new sbyte[weights.Length];
        var scales = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> w = weights.AsSpan(c * per, per);
            float max = 0;
            foreach (float v in w)
            {
                max = Math.Max(max, Math.Abs(v));
            }

            float scale = max > 0 ? max / 127f : 1f;
            scales[c] = scale;
            for (int i = 0; i < per; i++)
            {
                values[c * per + i] = (sbyte)Math.Clamp(MathF.Round(w[i] / scale), -127, 127);
            }
        }

        return (values, scales);
    }

    private static NodeProto RewireInputs(NodeProto node, Plan plan, Dictionary<string, string> rename)
    {
        bool quantized = plan.IsQuantized(node);
        NodeProto copy = node.Clone();
        for (int index = 0; index < copy.Input.Count; index++)
        {
            string name = copy.Input[index];
            // Fused Relus' outputs, and Conv/Add outputs, are read through their DQ by everyone; other quantized
            // tensors only by the quantized nodes (a float reader keeps the float).
            bool everyone = plan.ReadByAll.Contains(name);
            bool weight = node.OpType == "Conv" && index > 0;
            copy.Input[index] = rename.TryGetValue(name, out string? to) && (everyone || (quantized && !weight)) ? to : name;
        }

        return copy;
    }

    private static NodeProto QuantizeWeights(
        NodeProto node,
        Dictionary<string, TensorProto> initializers,
        Dictionary<string, (float Scale, byte Zero)> quantParams,
        List<TensorProto> newInitializers,
        List<NodeProto> nodes)
    {
        const string op = "Conv";
        IReadOnlyList<string> inputs = node.Input;
        string name = node.Name.Length > 0 ? node.Name : $"{op}_{nodes.Count}";
        if (!quantParams.TryGetValue(inputs[0], out (float Scale, byte Zero) x))
        {
            throw new InvalidDataException($"{op} '{name}' reads '{inputs[0]}', which is not quantized.");
        }

        TensorProto weight = initializers.TryGetValue(inputs[1], out TensorProto? w) ? w : throw new InvalidDataException($"{op} '{name}' has weights '{inputs[1]}' that are not an initializer.");
        long[] dims = [.. weight.Dims];
        int channels = (int)dims[0];
        (sbyte[] q, float[] scales) = Int8PerChannel(OnnxGraph.Floats(weight), channels);
        string prefix = $"{name}_w";
        newInitializers.Add(OnnxGraph.Tensor($"{prefix}_q", dims, OnnxGraph.ElemInt8, MemoryMarshal.AsBytes(q.AsSpan())));
        newInitializers.Add(OnnxGraph.FloatTensor($"{prefix}_scale", [channels], scales));
        newInitializers.Add(OnnxGraph.Tensor($"{prefix}_zero", [channels], OnnxGraph.ElemInt8, new byte[channels]));
        nodes.Add(OnnxGraph.Node("DequantizeLinear", $"{prefix}_dq", [$"{prefix}_q", $"{prefix}_scale", $"{prefix}_zero"], [$"{prefix}_f"], ("axis", 0)));
        var replaced = new List<string> { inputs[0], $"{prefix}_f" };

        if (inputs.Count > 2 && !string.IsNullOrEmpty(inputs[2]))
        {
            TensorProto bias = initializers.TryGetValue(inputs[2], out TensorProto? b) ? b : throw new InvalidDataException($"{op} '{name}' has a bias '{inputs[2]}' that is not an initializer.");
            float[] values = OnnxGraph.Floats(bias);
            if (values.Length != channels)
            {
                throw new InvalidDataException($"{op} '{name}' has {values.Length} biases for {channels} output channels.");
            }

            var biasScales = scales.Select(s => s * x.Scale).ToArray();
            var biasQ = values.Select((v, i) => (int)Math.Clamp(Math.Round(v / biasScales[i]), int.MinValue + 1, int.MaxValue)).ToArray();
            string bp = $"{name}_b";
            newInitializers.Add(OnnxGraph.Tensor($"{bp}_q", [channels], OnnxGraph.ElemInt32, MemoryMarshal.AsBytes(biasQ.AsSpan())));
            newInitializers.Add(OnnxGraph.FloatTensor($"{bp}_scale", [channels], biasScales));
            newInitializers.Add(OnnxGraph.Tensor($"{bp}_zero", [channels], OnnxGraph.ElemInt32, new byte[channels * 4]));
            nodes.Add(OnnxGraph.Node("DequantizeLinear", $"{bp}_dq", [$"{bp}_q", $"{bp}_scale", $"{bp}_zero"], [$"{bp}_f"], ("axis", 0)));
            replaced.Add($"{bp}_f");
        }

        NodeProto copy = node.Clone();
        for (int index = 0; index < replaced.Count && index < copy.Input.Count; index++)
        {
            copy.Input[index] = replaced[index];
        }

        return copy;
    }

    // Opset 13 takes Split's sizes as an input, not an attribute.
    private static NodeProto SplitWithInput(NodeProto node, List<TensorProto> newInitializers)
    {
        AttributeProto? sizes = node.Attribute.FirstOrDefault(a => a.Name == "split");
        if (sizes is null)
        {
            return node;
        }

        long[] values = [.. sizes.Ints];
        string name = $"{(node.Name.Length > 0 ? node.Name : "split")}_sizes_{newInitializers.Count}";
        newInitializers.Add(OnnxGraph.Tensor(name, [values.Length], OnnxGraph.ElemInt64, MemoryMarshal.AsBytes(values.AsSpan())));
        NodeProto copy = node.Clone();
        copy.Attribute.Remove(copy.Attribute.First(a => a.Name == "split"));
        copy.Input.Add(name);
        return copy;
    }

    /// <summary>Where a tensor is quantized: after <see cref="Tensor"/>'s writer, read back as <see cref="Output"/>.</summary>
    private sealed record QuantPoint(string Tensor, string Output, string RangeOf, bool ClampAtZero, string? SameAs = null);

    private sealed record Plan(IReadOnlyList<QuantPoint> Points, HashSet<string> FusedRelus, HashSet<string> ReadByAll, IReadOnlySet<string> FloatConvs)
    {
        public bool IsQuantized(NodeProto node) => IsQuantized(node, FloatConvs);

        private static bool IsQuantized(NodeProto node, IReadOnlySet<string> floatConvs) =>
            Quantized.Contains(node.OpType) && !(node.OpType == "Conv" && floatConvs.Contains(node.Output[0]));

        public static Plan Of(GraphProto graph, IReadOnlySet<string>? floatConvs = null)
        {
            floatConvs ??= new HashSet<string>();
            var nodes = graph.Node.ToList();
            HashSet<string> initializers = graph.Initializer.Select(t => t.Name).ToHashSet();
            HashSet<string> graphOutputs = OnnxGraph.OutputNames(graph).ToHashSet();
            var readers = new Dictionary<string, List<NodeProto>>();
            foreach (NodeProto node in nodes)
            {
                foreach (string i in node.Input)
                {
                    (readers.TryGetValue(i, out List<NodeProto>? list) ? list : readers[i] = []).Add(node);
                }
            }

            var points = new List<QuantPoint>();
            var byTensor = new Dictionary<string, QuantPoint>();
            var fused = new HashSet<string>();
            var readByAll = new HashSet<string>();

            void Add(QuantPoint point)
            {
                if (byTensor.TryAdd(point.Tensor, point))
                {
                    points.Add(point);
                }
            }

            // Conv and Add outputs, with a Relu that is their only reader folded in.
            foreach (NodeProto node in nodes.Where(n => n.OpType is "Conv" or "Add" && IsQuantized(n, floatConvs)))
            {
                string output = node.Output[0];
                List<NodeProto> next = readers.GetValueOrDefault(output) ?? [];
                if (next is [var relu] && relu.OpType == "Relu" && !graphOutputs.Contains(output))
                {
                    string reluOutput = relu.Output[0];
                    fused.Add(reluOutput);
                    readByAll.Add(output);
                    Add(new QuantPoint(output, reluOutput, reluOutput, ClampAtZero: true));
                }
                else if (!graphOutputs.Contains(output))
                {
                    readByAll.Add(output);
                    Add(new QuantPoint(output, $"{output}_dq", output, ClampAtZero: false));
                }
            }

            // What quantized nodes read that is not yet quantized: the first convolution's input, and MaxPool's input
            // and output (which must share one scale for ONNX Runtime to run MaxPool on uint8).
            foreach (NodeProto node in nodes.Where(n => IsQuantized(n, floatConvs)))
            {
                string op = node.OpType;
                IReadOnlyList<string> inputs = node.Input;
                IEnumerable<string> activations = op is "Conv" or "MaxPool" ? inputs.Take(1) : inputs;
                foreach (string input in activations.Where(i => !initializers.Contains(i)))
                {
                    if (!byTensor.ContainsKey(input) && !fused.Contains(input))
                    {
                        Add(new QuantPoint(input, $"{input}_dq", input, ClampAtZero: false));
                    }
                }

                if (op == "MaxPool")
                {
                    string source = inputs[0];
                    string sameAs = fused.Contains(source) ? source : byTensor[source].Output;
                    string output = node.Output[0];
                    readByAll.Add(output);
                    Add(new QuantPoint(output, $"{output}_dq", output, ClampAtZero: false, SameAs: sameAs));
                }
            }

            return new Plan(points, fused, readByAll, floatConvs);
        }

        public HashSet<string> QuantizedWeights(GraphProto graph) =>
            graph.Node
                .Where(n => n.OpType == "Conv" && IsQuantized(n))
                .SelectMany(n => n.Input.Skip(1))
                .Where(n => !string.IsNullOrEmpty(n))
                .ToHashSet();
    }
}
