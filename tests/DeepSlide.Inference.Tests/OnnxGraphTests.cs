using DeepSlide.Inference.Onnx;

namespace DeepSlide.Inference.Tests;

public class OnnxGraphTests
{
    [Fact]
    public void The_packaged_model_round_trips_through_the_wire_format_byte_for_byte()
    {
        byte[] original = File.ReadAllBytes(ResNetBackbone.ResNetPath);
        ProtoMessage model = ProtoMessage.Parse(original);
        Assert.Equal(original, model.ToBytes());
        ProtoMessage graph = OnnxGraph.Graph(model);
        Assert.Equal(["Input247"], OnnxGraph.InputNames(graph));
        Assert.Equal(["Pooling395_Output_0"], OnnxGraph.OutputNames(graph));
    }

    [Fact]
    public void Fields_of_every_wire_type_encode_and_parse_back()
    {
        var message = new ProtoMessage().Add(1, 300UL).Add(2, "name").AddFloat(3, 1.5f).Add(4, new ProtoMessage().Add(1, 7UL));
        ProtoMessage parsed = ProtoMessage.Parse(message.ToBytes());
        Assert.Equal(300, parsed.Int(1));
        Assert.Equal("name", parsed.String(2));
        Assert.Equal(1.5f, BitConverter.UInt32BitsToSingle((uint)parsed.First(3)!.Value.Value));
        Assert.Equal(7, parsed.First(4)!.Value.Message.Int(1));
        Assert.Equal([1L, 300, 1L << 40], ProtoMessage.UnpackVarints(ProtoMessage.PackVarints([1, 300, 1L << 40])));
    }

    [Fact]
    public void A_truncated_message_is_refused()
    {
        byte[] bytes = new ProtoMessage().Add(2, "a longer string").ToBytes();
        Assert.Throws<InvalidDataException>(() => ProtoMessage.Parse(bytes.AsMemory(0, bytes.Length - 3)));
    }

    [Fact]
    public void The_backbone_graph_has_a_symbolic_batch_and_the_features_output()
    {
        ProtoMessage graph = OnnxGraph.Graph(ResNetBackbone.Build());
        ProtoMessage input = graph.Messages(OnnxGraph.GraphInput).First(v => v.String(OnnxGraph.ValueInfoName) == ResNetBackbone.InputName);
        ProtoMessage shape = input.First(OnnxGraph.ValueInfoType)!.Value.Message.First(OnnxGraph.TypeTensor)!.Value.Message.First(OnnxGraph.TensorShape)!.Value.Message;
        List<ProtoMessage> dims = shape.Messages(OnnxGraph.ShapeDim).ToList();
        Assert.Equal("N", dims[0].String(OnnxGraph.DimParam));
        Assert.Equal([3L, 224, 224], dims.Skip(1).Select(d => d.Int(OnnxGraph.DimValue)!.Value));
        Assert.Equal([ResNetBackbone.FeaturesName], OnnxGraph.OutputNames(graph));
        Assert.Empty(graph.All(OnnxGraph.GraphValueInfo));
    }
}
