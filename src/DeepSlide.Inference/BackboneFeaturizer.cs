using DeepSlide.Inference.Onnx;
using DeepSlide.Models;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace DeepSlide.Inference;

/// <summary>The ResNet-18 backbone alone: RGB patches in, 512 features each out, batched.</summary>
public sealed class BackboneFeaturizer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _run = new();
    private readonly Preprocessor _preprocessor = new(new ModelInput());
    private readonly float[] _input;
    private const int Size = ResNetBackbone.InputSize;

    public BackboneFeaturizer(InferenceOptions? options = null)
    {
        options ??= new InferenceOptions();
        Model = ResNetBackbone.Build();
        (_session, ExecutionProvider) = OnnxSessions.Create(Model.ToByteArray(), ResNetBackbone.ResNetPath, options);
        BatchSize = options.BatchSizeOn(ExecutionProvider);
        _input = new float[BatchSize * 3 * Size * Size];
    }

    /// <summary>The backbone graph, which the exported classifier extends.</summary>
    public ModelProto Model { get; }

    public string ExecutionProvider { get; }

    public int BatchSize { get; }

    /// <summary>Features of every patch (224 x 224 RGB), <see cref="ResNetBackbone.FeatureCount"/> per patch.</summary>
    public float[] Extract(IReadOnlyList<byte[]> patches, Action<int>? progress = null)
    {
        var features = new float[patches.Count * ResNetBackbone.FeatureCount];
        int plane = 3 * Size * Size;
        for (int start = 0; start < patches.Count; start += BatchSize)
        {
            int n = Math.Min(BatchSize, patches.Count - start);
            Parallel.For(0, n, i => _preprocessor.Fill(patches[start + i], _input.AsSpan(i * plane, plane)));
            using OrtValue input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _input.AsMemory(0, n * plane), [n, 3, Size, Size]);
            using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(_run, [ResNetBackbone.InputName], [input], [ResNetBackbone.FeaturesName]);
            outputs[0].GetTensorDataAsSpan<float>().CopyTo(features.AsSpan(start * ResNetBackbone.FeatureCount));
            progress?.Invoke(start + n);
        }

        return features;
    }

    public void Dispose()
    {
        _run.Dispose();
        _session.Dispose();
    }
}
