namespace DeepSlide.Inference.Onnx;

/// <summary>
/// The ImageNet ResNet-18 shipped in Microsoft.ML.DnnImageFeaturizer.ResNet18, made into one batchable graph:
/// its own preprocessing (RGB to BGR, minus a mean image) in front, a symbolic batch dimension, and the pooled
/// 512-feature vector flattened. Input <see cref="InputName"/>: float [N,3,224,224], RGB planar, 0 to 255.
/// </summary>
public static class ResNetBackbone
{
    public const string InputName = "image";
    public const string FeaturesName = "features";
    public const int FeatureCount = 512;
    public const int InputSize = 224;
    public const string Name = "resnet18-imagenet-cntk";

    private const string PreprocessInput = "OriginalInput";
    private const string PreprocessOutput = "PreprocessedInput";
    private const string BackboneInput = "Input247";
    private const string BackboneOutput = "Pooling395_Output_0";

    /// <summary>The last convolutional feature map, [N,512,7,7]: the features are its 7 x 7 mean.</summary>
    public const string LastFeatureMap = "ReLU393_Output_0";

    public const int FeatureMapSide = 7;

    /// <summary>Where the package's build step copies the two models, next to the application.</summary>
    public static string ModelFolder => Path.Combine(AppContext.BaseDirectory, "DnnImageModels");

    public static string ResNetPath => Path.Combine(ModelFolder, "ResNet18Onnx", "ResNet18.onnx");

    public static string PreprocessPath => Path.Combine(ModelFolder, "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    /// <summary>The feature extractor: image in, features [N,512] out.</summary>
    public static ProtoMessage Build() => Build(File.ReadAllBytes(ResNetPath), File.ReadAllBytes(PreprocessPath));

    public static ProtoMessage Build(byte[] resnet, byte[] preprocess)
    {
        ProtoMessage model = ProtoMessage.Parse(resnet);
        ProtoMessage graph = OnnxGraph.Graph(model);
        ProtoMessage prep = OnnxGraph.Graph(ProtoMessage.Parse(preprocess));
        if (OnnxGraph.InputNames(graph).SingleOrDefault() != BackboneInput || OnnxGraph.OutputNames(graph).SingleOrDefault() != BackboneOutput)
        {
            throw new InvalidDataException($"The packaged ResNet-18 no longer has input {BackboneInput} and output {BackboneOutput}.");
        }

        var merged = new ProtoMessage();
        merged.Add(OnnxGraph.GraphName, "deepslide-resnet18");

        // The preprocessing nodes, rewired: our input in, the backbone's input out.
        foreach (ProtoMessage node in prep.Messages(OnnxGraph.GraphNode))
        {
            merged.Add(OnnxGraph.GraphNode, Rename(node, new Dictionary<string, string> { [PreprocessInput] = InputName, [PreprocessOutput] = BackboneInput }));
        }

        foreach (ProtoField field in graph.Fields.Where(f => f.Number == OnnxGraph.GraphNode))
        {
            merged.Fields.Add(field);
        }

        merged.Add(OnnxGraph.GraphNode, OnnxGraph.Node("Flatten", "deepslide_flatten", [BackboneOutput], [FeaturesName], ("axis", 1)));
        foreach (ProtoField field in prep.Fields.Concat(graph.Fields).Where(f => f.Number == OnnxGraph.GraphInitializer))
        {
            merged.Fields.Add(field);
        }

        // Opset 8 graphs list initializers among the inputs too; keep those, replace the real inputs with ours.
        var initializerNames = merged.Messages(OnnxGraph.GraphInitializer).Select(t => t.String(OnnxGraph.TensorName)).ToHashSet();
        merged.Add(OnnxGraph.GraphInput, OnnxGraph.ValueInfo(InputName, OnnxGraph.BatchDimension, 3, InputSize, InputSize));
        foreach (ProtoField field in prep.Fields.Concat(graph.Fields).Where(f => f.Number == OnnxGraph.GraphInput))
        {
            if (initializerNames.Contains(field.Message.String(OnnxGraph.ValueInfoName)))
            {
                merged.Fields.Add(field);
            }
        }

        merged.Add(OnnxGraph.GraphOutput, OnnxGraph.ValueInfo(FeaturesName, OnnxGraph.BatchDimension, FeatureCount));

        // The original value_info records batch-1 shapes; without it the runtime infers shapes for batch N.
        model.Replace(OnnxGraph.ModelGraph, [merged]);
        return model;
    }

    private static ProtoMessage Rename(ProtoMessage node, IReadOnlyDictionary<string, string> names)
    {
        var renamed = new ProtoMessage();
        foreach (ProtoField f in node.Fields)
        {
            if (f.Number is OnnxGraph.NodeInput or OnnxGraph.NodeOutput && names.TryGetValue(f.Text, out string? to))
            {
                renamed.Add(f.Number, to);
            }
            else
            {
                renamed.Fields.Add(f);
            }
        }

        return renamed;
    }
}
