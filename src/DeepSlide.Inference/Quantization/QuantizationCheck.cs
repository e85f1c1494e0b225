using DeepSlide.Aggregation;
using DeepSlide.Models;

namespace DeepSlide.Inference.Quantization;

/// <summary>Measures what quantizing changed: both models on the same labelled patches.</summary>
public static class QuantizationCheck
{
    /// <param name="labels">Each patch's class index in the models' class order.</param>
    public static QuantizationCost Measure(ModelBundle source, ModelBundle quantized, IReadOnlyList<ReadOnlyMemory<byte>> patches, IReadOnlyList<int> labels, string? origin, InferenceOptions? options = null)
    {
        if (patches.Count == 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, origin, "there are no check patches to measure the quantized model on.");
        }

        PatchProbabilities before = Probabilities(source, patches, options), after = Probabilities(quantized, patches, options);
        int agree = 0, rightBefore = 0, rightAfter = 0;
        var changes = new double[patches.Count];
        for (int i = 0; i < patches.Count; i++)
        {
            int ca = before.Prediction(i).Class, cb = after.Prediction(i).Class;
            agree += ca == cb ? 1 : 0;
            rightBefore += ca == labels[i] ? 1 : 0;
            rightAfter += cb == labels[i] ? 1 : 0;
            ReadOnlySpan<float> a = before.Row(i), b = after.Row(i);
            for (int c = 0; c < a.Length; c++)
            {
                changes[i] = Math.Max(changes[i], Math.Abs(a[c] - b[c]));
            }
        }

        Array.Sort(changes);
        return new QuantizationCost
        {
            Patches = patches.Count,
            Source = origin,
            Agreement = agree / (double)patches.Count,
            MaxProbabilityChange = Math.Round(changes[^1], 6),
            MedianProbabilityChange = Math.Round(changes[changes.Length / 2], 6),
            SourceAccuracy = rightBefore / (double)patches.Count,
            Accuracy = rightAfter / (double)patches.Count,
        };
    }

    private static PatchProbabilities Probabilities(ModelBundle bundle, IReadOnlyList<ReadOnlyMemory<byte>> patches, InferenceOptions? options)
    {
        using PatchClassifier classifier = PatchClassifier.Load(bundle, options);
        var probabilities = new float[patches.Count * classifier.ClassCount];
        classifier.Classify(patches, probabilities);
        return new PatchProbabilities(bundle.Manifest.Classes, probabilities);
    }
}
