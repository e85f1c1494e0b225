using DeepSlide.Learning;
using DeepSlide.Models;
using DeepSlide.Stain;
using Microsoft.ML.OnnxRuntime;

namespace DeepSlide.Inference;

/// <summary>
/// Runs a model bundle's ONNX classifier on batches of RGB patches. One ONNX Runtime session for the life of the
/// object; thread-safe for one caller at a time per instance (the input buffer is reused).
/// </summary>
public sealed class PatchClassifier : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _run = new();
    private readonly float[] _input;
    private readonly Preprocessor _preprocessor;
    private readonly string _inputName;
    private readonly string _outputName;
    private readonly string? _featuresName;
    private readonly StainNormalizer? _stain;
    private readonly ThreadLocal<byte[]> _scratch;
    private readonly Dictionary<string, float[]> _outputBuffers = new(StringComparer.Ordinal);

    private PatchClassifier(ModelManifest manifest, string path, InferenceSession session, string provider, int batchSize)
    {
        Manifest = manifest;
        _session = session;
        ExecutionProvider = provider;
        BatchSize = batchSize;
        _preprocessor = new Preprocessor(manifest.Input);
        _inputName = manifest.Input.Name;
        _outputName = manifest.Output.Probabilities;
        _featuresName = manifest.Output.Features;
        _input = new float[batchSize * 3 * manifest.Input.Size * manifest.Input.Size];
        _stain = StainNormalizer.Create(manifest.Stain.Method, manifest.Stain.Target);
        _scratch = new ThreadLocal<byte[]>(() => new byte[3 * manifest.Input.Size * manifest.Input.Size]);
        Validate(path);
    }

    public ModelManifest Manifest { get; }

    /// <summary>"CUDA" or "CPU": where the model runs.</summary>
    public string ExecutionProvider { get; }

    public int BatchSize { get; }

    public int ClassCount => Manifest.Classes.Count;

    public static PatchClassifier Load(ModelBundle bundle, InferenceOptions? options = null) =>
        Load(bundle.Manifest, bundle.OnnxPath, File.ReadAllBytes(bundle.OnnxPath), options);

    public static PatchClassifier Load(ModelManifest manifest, string path, byte[] onnx, InferenceOptions? options = null)
    {
        options ??= new InferenceOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize ?? 1);
        (InferenceSession session, string provider) = OnnxSessions.Create(onnx, path, options);
        try
        {
            Quantization.GraphPrecision.Check(manifest, onnx, path);
            return new PatchClassifier(manifest, path, session, provider, options.BatchSizeOn(provider));
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Classifies <paramref name="patches"/> (each Size x Size x 3 bytes of RGB), writing class probabilities
    /// (patches x classes) and, when asked and the model has them, features.
    /// </summary>
    public void Classify(IReadOnlyList<ReadOnlyMemory<byte>> patches, Span<float> probabilities, float[]? features = null, float[]? featureMaps = null)
    {
        int classes = ClassCount;
        if (probabilities.Length < patches.Count * classes)
        {
            throw new ArgumentException("Probability buffer too small.", nameof(probabilities));
        }

        if (featureMaps is not null && Manifest.Output.FeatureMap is null)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, null, "the model exposes no feature map ('output.featureMap'), so class activation maps cannot be drawn.");
        }

        int size = Manifest.Input.Size;
        int planeFloats = 3 * size * size;
        var outputNames = new List<string> { _outputName };
        if (_featuresName is not null && features is not null)
        {
            outputNames.Add(_featuresName);
        }

        if (featureMaps is not null)
        {
            outputNames.Add(Manifest.Output.FeatureMap!);
        }

        for (int start = 0; start < patches.Count; start += BatchSize)
        {
            int n = Math.Min(BatchSize, patches.Count - start);
            Parallel.For(0, n, i => _preprocessor.Fill(Normalised(patches[start + i]), _input.AsSpan(i * planeFloats, planeFloats)));
            using OrtValue input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _input.AsMemory(0, n * planeFloats), [n, 3, size, size]);
            IReadOnlyList<float[]> outputs = RunBatch(input, outputNames, n);
            Span<float> target = probabilities.Slice(start * classes, n * classes);
            outputs[0].AsSpan(0, n * classes).CopyTo(target);
            if (!Manifest.Output.IsSoftmax)
            {
                for (int i = 0; i < n; i++)
                {
                    SoftmaxModel.SoftmaxInPlace(target.Slice(i * classes, classes));
                }
            }

            int next = 1;
            if (features is not null && _featuresName is not null)
            {
                CopyRows(outputs[next++], features, start, n);
            }

            if (featureMaps is not null)
            {
                CopyRows(outputs[next], featureMaps, start, n);
            }
        }
    }

    /// <summary>
    /// One batch through IOBinding: the outputs are written straight into buffers this classifier keeps for its
    /// life (on CUDA, ONNX Runtime copies them back into these host buffers), so a batch allocates no output tensors.
    /// </summary>
    private IReadOnlyList<float[]> RunBatch(OrtValue input, List<string> outputNames, int n)
    {
        var buffers = new List<float[]>(outputNames.Count);
        var values = new List<OrtValue>(outputNames.Count);
        try
        {
            using OrtIoBinding binding = _session.CreateIoBinding();
            binding.BindInput(_inputName, input);
            foreach (string name in outputNames)
            {
                long[] shape = [n, .. _session.OutputMetadata[name].Dimensions.Skip(1).Select(d => (long)d)];
                if (shape.Any(d => d <= 0))
                {
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, null, $"output '{name}' has shape [{string.Join(",", _session.OutputMetadata[name].Dimensions)}]; only its first (batch) dimension may be symbolic.");
                }

                long width = shape.Skip(1).Aggregate(1L, (a, d) => a * d);
                if (!_outputBuffers.TryGetValue(name, out float[]? buffer))
                {
                    buffer = new float[BatchSize * width];
                    _outputBuffers[name] = buffer;
                }

                OrtValue value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, (int)(n * width)), shape);
                values.Add(value);
                buffers.Add(buffer);
                binding.BindOutput(name, value);
            }

            _session.RunWithBinding(_run, binding);
            binding.SynchronizeBoundOutputs();
            return buffers;
        }
        finally
        {
            foreach (OrtValue value in values)
            {
                value.Dispose();
            }
        }
    }

    private void CopyRows(float[] output, float[] target, int start, int n)
    {
        int width = output.Length / BatchSize;
        output.AsSpan(0, n * width).CopyTo(target.AsSpan(start * width, n * width));
    }


    public bool IsDisposed { get; private set; }

    public void Dispose()
    {
        IsDisposed = true;
        _run.Dispose();
        _session.Dispose();
        _scratch.Dispose();
    }

    // The caller's patch stays untouched: normalisation works on a per-thread copy.
    private ReadOnlySpan<byte> Normalised(ReadOnlyMemory<byte> patch)
    {
        if (_stain is null)
        {
            return patch.Span;
        }

        byte[] copy = _scratch.Value!;
        patch.Span[..copy.Length].CopyTo(copy);
        _stain.Apply(copy);
        return copy;
    }

    private void Validate(string path)
    {
        void Fail(string problem) => throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, path, problem);
        if (!_session.InputMetadata.TryGetValue(_inputName, out NodeMetadata? input))
        {
            Fail($"the model has no input '{_inputName}' (it has {string.Join(", ", _session.InputMetadata.Keys)}).");
        }

        int size = Manifest.Input.Size;
        int[] dims = input!.Dimensions;
        if (dims.Length != 4 || dims[1] != 3 || dims[2] != size || dims[3] != size)
        {
            Fail($"input '{_inputName}' has shape [{string.Join(",", dims)}]; the manifest needs [N,3,{size},{size}].");
        }

        if (dims[0] > 0 && dims[0] != BatchSize)
        {
            Fail($"input '{_inputName}' has a fixed batch of {dims[0]}; make its batch dimension symbolic or use --batch {dims[0]}.");
        }

        if (!_session.OutputMetadata.TryGetValue(_outputName, out NodeMetadata? output))
        {
            Fail($"the model has no output '{_outputName}' (it has {string.Join(", ", _session.OutputMetadata.Keys)}).");
        }

        int classes = output!.Dimensions[^1];
        if (output.Dimensions.Length != 2 || classes != ClassCount)
        {
            Fail($"output '{_outputName}' has shape [{string.Join(",", output.Dimensions)}], but the manifest lists {ClassCount} classes.");
        }

        if (_featuresName is not null && !_session.OutputMetadata.ContainsKey(_featuresName))
        {
            Fail($"the model has no features output '{_featuresName}'.");
        }
    }
}
