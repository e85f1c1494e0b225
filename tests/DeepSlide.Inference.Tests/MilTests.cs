using DeepSlide.Aggregation;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using DeepSlide.Slides;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using DeepSlide.Training;
using Google.Protobuf;

namespace DeepSlide.Inference.Tests;

/// <summary>
/// Mixed slides (20-60% adenocarcinoma in benign tissue, or all benign) and their cached feature bags. MIL needs
/// backbone features only, and those do not depend on the head, so an untrained two-class head serves.
/// </summary>
public sealed class SparseSlides : IDisposable
{
    public SparseSlides()
    {
        Folder = Directory.CreateTempSubdirectory("deepslide-mil-").FullName;
        var random = new Random(1);
        var head = new SoftmaxModel(2, 512, Enumerable.Range(0, 1024).Select(_ => (float)(random.NextDouble() - 0.5) * 0.01f).ToArray(), new float[2]);
        Bundle = ModelBundle.Save(Path.Combine(Folder, "model"), new ModelManifest
        {
            Classes = ["adenocarcinoma", "benign"],
            Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, Features = ResNetBackbone.FeaturesName },
            Training = new TrainingProvenance { Backbone = ResNetBackbone.Name },
        }, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToByteArray());
        var options = new SyntheticDatasetOptions { SlidesPerClass = 8, Width = 2400, Height = 1800, Mixed = true, Seed = 1, Classes = ["adenocarcinoma", "benign"] };
        Train = SyntheticDataset.Write(Path.Combine(Folder, "train"), options);
        HeldOut = SyntheticDataset.Write(Path.Combine(Folder, "held-out"), options with { SlidesPerClass = 4, Seed = 2 });
        Cache = new FeatureBagCache(Path.Combine(Folder, "bags"), Bundle);
        using PatchClassifier classifier = PatchClassifier.Load(Bundle);
        TrainBags = Train.Select(s => Cache.GetAsync(s.Path, s.ClassName == "benign" ? 1 : 0, classifier).GetAwaiter().GetResult()).ToList();
        (Mil, Log) = Trained(new AttentionMilOptions { Seed = 3 });
    }

    public (AttentionMil Model, IReadOnlyList<MilEpochLog> Log) Trained(AttentionMilOptions options) =>
        AttentionMilTrainer.Train(TrainBags.Where((_, i) => i % 4 != 3).ToList(), TrainBags.Where((_, i) => i % 4 == 3).ToList(), 512, 2, options);

    public string Folder { get; }

    public ModelBundle Bundle { get; }

    public IReadOnlyList<(string Path, string ClassName)> Train { get; }

    public IReadOnlyList<(string Path, string ClassName)> HeldOut { get; }

    public FeatureBagCache Cache { get; }

    public List<FeatureBag> TrainBags { get; }

    public AttentionMil Mil { get; }

    public IReadOnlyList<MilEpochLog> Log { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public class MilTests(SparseSlides data) : IClassFixture<SparseSlides>
{
    /// <summary>With CLAM's instance loss (the default, weight 1) and without it.</summary>
    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public async Task Through_classify_mil_labels_held_out_sparse_slides_and_attends_to_the_tumour(double instanceLoss)
    {
        bool fixture = instanceLoss == new AttentionMilOptions().InstanceLoss;
        AttentionMil model = fixture ? data.Mil : data.Trained(new AttentionMilOptions { Seed = 3, InstanceLoss = instanceLoss }).Model;
        Assert.Equal(fixture, model.Parameters.SequenceEqual(data.Mil.Parameters));
        var bundle = data.Bundle.WithManifest(data.Bundle.Manifest with
        {
            Aggregation = data.Bundle.Manifest.Aggregation with { Mil = new MilAggregator(model).ToSpec(data.Cache.Backbone) },
        });
        using PatchClassifier classifier = PatchClassifier.Load(bundle);
        IReadOnlyList<ISlideAggregator> aggregators = Aggregators.FromManifest(bundle.Manifest);
        Assert.Contains(aggregators, a => a.Name == "mil");

        int right = 0;
        var tumour = new List<double>();
        var benign = new List<double>();
        foreach ((string path, string truth) in data.HeldOut)
        {
            using ISlideReader reader = SlideReader.Open(path);
            SlideResult result = await SlideClassifier.ClassifyAsync(reader, classifier, aggregators);
            SlideCall mil = result.Call("mil")!;
            right += mil.Label == truth ? 1 : 0;
            Assert.Equal(result.Patches.Count, mil.PatchWeights!.Count);
            if (truth == "adenocarcinoma")
            {
                // The synthetic slide knows which tissue it drew as tumour: the ground truth for attention.
                SyntheticSlide drawn = Regenerate(path);
                for (int i = 0; i < result.Patches.Count; i++)
                {
                    var tile = result.Plan!.Tiles[i];
                    (drawn.ClassAt(tile.X + 112, tile.Y + 112) == "adenocarcinoma" ? tumour : benign).Add(mil.PatchWeights[i]);
                }
            }
        }

        Assert.True(right >= 7, $"{right} of 8 held-out slides right");
        Assert.NotEmpty(tumour);
        Assert.True(tumour.Average() > 3 * benign.Average(), $"tumour patches {tumour.Average():0.0000} vs benign {benign.Average():0.0000}");
    }

    [Fact]
    public async Task Cached_bags_are_reused_and_a_bag_of_another_backbone_is_refused()
    {
        using PatchClassifier classifier = PatchClassifier.Load(data.Bundle);
        int hits = data.Cache.Hits;
        FeatureBag again = await data.Cache.GetAsync(data.Train[0].Path, 0, classifier);
        Assert.Equal(hits + 1, data.Cache.Hits);
        Assert.Equal(data.TrainBags[0].Features, again.Features);

        string bag = Directory.GetFiles(data.Cache.Folder, "*.bag")[0];
        var ex = Assert.Throws<DeepSlideException>(() => FeatureBagCache.Read(bag, 0, "resnet50@0000"));
        Assert.Equal(DeepSlideErrorReason.InvalidModel, ex.Reason);
        Assert.Contains("but the bundle's is 'resnet50@0000'", ex.Message);
    }

    [Fact]
    public void Mil_weights_round_trip_through_the_manifest_and_a_wrong_size_is_refused()
    {
        MilSpec spec = new MilAggregator(data.Mil).ToSpec(data.Cache.Backbone);
        var manifest = data.Bundle.Manifest with { Aggregation = data.Bundle.Manifest.Aggregation with { Mil = spec } };
        manifest.Validate("manifest.json");
        var restored = MilAggregator.FromSpec(spec, 2);
        Assert.Equal(data.Mil.Parameters, restored.Model.Parameters);
        var broken = manifest with { Aggregation = manifest.Aggregation with { Mil = spec with { Parameters = [1, 2, 3] } } };
        Assert.Contains("'aggregation.mil' has 3 parameters", Assert.Throws<DeepSlideException>(() => broken.Validate("manifest.json")).Message);
    }

    /// <summary>Rebuilds the synthetic slide that was written to <paramref name="path"/> (same spec, same seed).</summary>
    private SyntheticSlide Regenerate(string path)
    {
        var options = new SyntheticDatasetOptions { SlidesPerClass = 4, Width = 2400, Height = 1800, Mixed = true, Seed = 2, Classes = ["adenocarcinoma", "benign"] };
        return SyntheticDataset.Specs(options).Single(s => Path.GetFileName(path) == s.FileName).Slide;
    }
}
