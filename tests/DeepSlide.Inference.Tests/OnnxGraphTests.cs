using DeepSlide.Inference.Onnx;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace DeepSlide.Inference.Tests;

public class OnnxGraphTests
{
    [Fact]
    public void The_packaged_model_written_back_by_the_generated_classes_is_the_same_model_to_ONNX_Runtime()
    {
        byte[] original = File.ReadAllBytes(ResNetBackbone.ResNetPath);
        ModelProto model = OnnxGraph.Parse(original);
        byte[] written = model.ToByteArray();
        Assert.Equal(model, OnnxGraph.Parse(written));
        GraphProto graph = OnnxGraph.Graph(model);
        Assert.Equal(["Input247"], OnnxGraph.InputNames(graph));
        Assert.Equal(["Pooling395_Output_0"], OnnxGraph.OutputNames(graph));

        // ONNX Runtime's own reading of both: the same inputs and outputs, and the same numbers out.
        using var before = new InferenceSession(original);
        using var after = new InferenceSession(written);
        Assert.Equal(Shapes(before.InputMetadata), Shapes(after.InputMetadata));
        Assert.Equal(Shapes(before.OutputMetadata), Shapes(after.OutputMetadata));
        var random = new Random(7);
        float[] pixels = [.. Enumerable.Range(0, 3 * 224 * 224).Select(_ => (float)random.Next(256))];
        var image = new DenseTensor<float>(pixels, new[] { 1, 3, 224, 224 });
        float[] Run(InferenceSession session)
        {
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("Input247", image)]);
            return [.. results.Single().AsEnumerable<float>()];
        }

        Assert.Equal(Run(before), Run(after));
    }

    [Fact]
    public void Fields_this_project_does_not_know_are_written_back()
    {
        // Field 1000 of ModelProto, a varint 5: key 1000 << 3 = 8000 is the varint C0 3E.
        byte[] unknown = [0xC0, 0x3E, 0x05];
        ModelProto model = new() { IrVersion = 7, Graph = new GraphProto { Name = "g" } };
        byte[] written = OnnxGraph.Parse([.. model.ToByteArray(), .. unknown]).ToByteArray();
        Assert.Equal(unknown, written[^3..]);
    }

    [Fact]
    public void A_truncated_model_is_refused_as_invalid_data()
    {
        byte[] bytes = new ModelProto { Graph = new GraphProto { Name = "a longer name" } }.ToByteArray();
        Assert.Throws<InvalidDataException>(() => OnnxGraph.Parse(bytes.AsSpan(0, bytes.Length - 3)));
    }

    [Fact]
    public void ONNX_Runtime_reads_the_backbone_with_a_symbolic_batch_and_the_features_output()
    {
        ModelProto model = ResNetBackbone.Build();
        GraphProto graph = OnnxGraph.Graph(model);
        Assert.Equal([ResNetBackbone.InputName], OnnxGraph.InputNames(graph));
        Assert.Equal([ResNetBackbone.FeaturesName], OnnxGraph.OutputNames(graph));
        Assert.Empty(graph.ValueInfo);

        using var session = new InferenceSession(model.ToByteArray());
        NodeMetadata input = Assert.Single(session.InputMetadata, m => m.Key == ResNetBackbone.InputName).Value;
        Assert.Equal([-1, 3, 224, 224], input.Dimensions);
        Assert.Equal(OnnxGraph.BatchDimension, input.SymbolicDimensions[0]);
        NodeMetadata features = Assert.Single(session.OutputMetadata).Value;
        Assert.Equal([-1, ResNetBackbone.FeatureCount], features.Dimensions);
    }

    private static Dictionary<string, string> Shapes(IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        metadata.ToDictionary(m => m.Key, m => $"{m.Value.ElementType.Name}[{string.Join(',', m.Value.Dimensions)}]");
}
