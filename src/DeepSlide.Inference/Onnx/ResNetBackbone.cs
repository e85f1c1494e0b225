using Onnx;

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
    public static ModelProto Build() => Build(File.ReadAllBytes(ResNetPath), File.ReadAllBytes(PreprocessPath));

    public static ModelProto Build(byte[] resnet, byte[] preprocess)
    {
        ModelProto model = OnnxGraph.Parse(resnet);
        GraphProto graph = OnnxGraph.Graph(model);
        GraphProto prep = OnnxGraph.Graph(OnnxGraph.Parse(preprocess));
        if (OnnxGraph.InputNames(graph).SingleOrDefault() != BackboneInput || OnnxGraph.OutputNames(graph).SingleOrDefault() != BackboneOutput)
        {
            throw new InvalidDataException($"The packaged ResNet-18 no longer has input {BackboneInput} and output {BackboneOutput}.");
        }

        var merged = new GraphProto { Name = "deepslide-resnet18" };

        // The preprocessing nodes, rewired: our input in, the backbone's input out.
        var rewire = new Dictionary<string, string> { [PreprocessInput] = InputName, [PreprocessOutput] = BackboneInput };
        string Rewired(string name) => rewire.GetValueOrDefault(name, name);
        merged.Node.AddRange(prep.Node.Select(n => OnnxGraph.Renamed(n, Rewired, Rewired)));
        merged.Node.AddRange(graph.Node);
        merged.Node.Add(OnnxGraph.Node("Flatten", "deepslide_flatten", [BackboneOutput], [FeaturesName], ("axis", 1)));
        merged.Initializer.AddRange(prep.Initializer.Concat(graph.Initializer));

        // Opset 8 graphs list initializers among the inputs too; keep those, replace the real inputs with ours.
        var initializerNames = merged.Initializer.Select(t => t.Name).ToHashSet();
        merged.Input.Add(OnnxGraph.ValueInfo(InputName, OnnxGraph.BatchDimension, 3, InputSize, InputSize));
        merged.Input.AddRange(prep.Input.Concat(graph.Input).Where(v => initializerNames.Contains(v.Name)));
        merged.Output.Add(OnnxGraph.ValueInfo(FeaturesName, OnnxGraph.BatchDimension, FeatureCount));

        // The original value_info records batch-1 shapes; without it the runtime infers shapes for batch N.
        model.Graph = merged;
        return model;
    }
}
