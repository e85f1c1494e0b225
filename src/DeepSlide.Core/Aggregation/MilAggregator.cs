using DeepSlide.Learning;
using DeepSlide.Models;

namespace DeepSlide.Aggregation;

/// <summary>Attention MIL over the patches' backbone features; its call carries each patch's attention weight.</summary>
public sealed class MilAggregator(AttentionMil model) : ISlideAggregator
{
    public string Name => "mil";

    public bool NeedsFeatures => true;

    public AttentionMil Model { get; } = model;

    public SlideCall Aggregate(PatchProbabilities patches)
    {
        if (patches.Count == 0)
        {
            return new SlideCall(Name, null, new double[patches.Classes.Count], Calls.NoPatches);
        }

        if (patches.Features is null || patches.FeatureCount != Model.Features)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.InvalidModel,
                null,
                $"attention MIL needs {Model.Features} backbone features per patch; the patches carry {patches.FeatureCount}.");
        }

        (double[] p, double[] attention) = Model.Predict(patches.Features, patches.Count);
        return new SlideCall(Name, patches.Classes[Calls.ArgMax(p)], p) { PatchWeights = attention };
    }

    public static MilAggregator FromSpec(MilSpec spec, int classes) =>
        new(new AttentionMil(spec.Features, spec.Embedding, spec.Attention, classes, [.. spec.Parameters]));

    public MilSpec ToSpec(string backbone) => new()
    {
        Backbone = backbone,
        Features = Model.Features,
        Embedding = Model.Embedding,
        Attention = Model.Attention,
        Parameters = Model.Parameters,
    };
}
