using DeepSlide.Models;

namespace DeepSlide.Inference;

/// <summary>
/// An int8 bundle's FP32 graph, loaded when first needed. A patch whose top two int8 probabilities are closer than
/// <see cref="PatchMargin"/> is classified again by it, in the same batch; a slide whose calls would change were every
/// patch's probability of one class moved by <see cref="Margin"/> is classified again by it whole.
/// </summary>
public sealed class CallConfirmation : IDisposable
{
    private readonly Lazy<PatchClassifier> _classifier;

    private CallConfirmation(Lazy<PatchClassifier> classifier, ConfirmationSpec spec)
    {
        Margin = spec.Margin;
        PatchMargin = spec.PatchMargin;
        _classifier = classifier;
    }

    public double Margin { get; }

    public double PatchMargin { get; }

    public PatchClassifier Classifier => _classifier.Value;

    /// <summary>The bundle's confirmation, or null when it carries no FP32 graph (or <paramref name="enabled"/> is false).</summary>
    public static CallConfirmation? For(ModelBundle bundle, InferenceOptions? options = null, bool enabled = true) =>
        enabled && bundle.Confirmation is { } fp32 ? With(fp32, bundle.Manifest.Onnx.Confirm!, options) : null;

    /// <summary>The bundle's confirmation with its FP32 graph loaded now (for a process that deletes its copy of the bundle once loaded).</summary>
    public static CallConfirmation? LoadNow(ModelBundle bundle, InferenceOptions? options = null) =>
        bundle.Confirmation is { } fp32 ? new CallConfirmation(new Lazy<PatchClassifier>(PatchClassifier.Load(fp32, options)), bundle.Manifest.Onnx.Confirm!) : null;

    /// <summary>A confirmation by <paramref name="fp32"/> at <paramref name="spec"/>'s margins, for a bundle not yet written.</summary>
    public static CallConfirmation With(ModelBundle fp32, ConfirmationSpec spec, InferenceOptions? options = null) =>
        new(new Lazy<PatchClassifier>(() => PatchClassifier.Load(fp32, options)), spec);

    /// <summary>
    /// Classifies again, in FP32, the patches of a batch whose top two probabilities are closer than the patch margin,
    /// replacing their rows (and their features, when given); returns how many.
    /// </summary>
    public int ConfirmPatches(IReadOnlyList<ReadOnlyMemory<byte>> patches, Span<float> probabilities, float[]? features, int featureCount)
    {
        int classes = probabilities.Length / patches.Count;
        var unsure = new List<int>();
        for (int i = 0; i < patches.Count; i++)
        {
            if (TopTwoGap(probabilities.Slice(i * classes, classes)) < PatchMargin)
            {
                unsure.Add(i);
            }
        }

        if (unsure.Count == 0)
        {
            return 0;
        }

        var again = new float[unsure.Count * classes];
        float[]? againFeatures = features is null ? null : new float[unsure.Count * featureCount];
        Classifier.Classify([.. unsure.Select(i => patches[i])], again, againFeatures);

        for (int k = 0; k < unsure.Count; k++)
        {
            again.AsSpan(k * classes, classes).CopyTo(probabilities.Slice(unsure[k] * classes, classes));
            againFeatures?.AsSpan(k * featureCount, featureCount).CopyTo(features.AsSpan(unsure[k] * featureCount));
        }

        return unsure.Count;
    }

    public void Dispose()
    {
        if (_classifier.IsValueCreated)
        {
            _classifier.Value.Dispose();
        }
    }

    private static float TopTwoGap(ReadOnlySpan<float> row)
    {
        float first = float.MinValue, second = float.MinValue;
        foreach (float p in row)
        {
            if (p > first)
            {
                (first, second) = (p, first);
            }
            else if (p > second)
            {
                second = p;
            }
        }

        return first - second;
    }
}
