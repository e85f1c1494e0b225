using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Datasets;
using DeepSlide.Inference;
using DeepSlide.Learning;
using DeepSlide.Training;

namespace DeepSlide.Cli.Commands;

internal static class TrainMilCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model bundle whose backbone features the bags hold; the MIL weights are added to it.", Required = true };
        var slides = new Option<string>("--slides", "-s") { Description = "The slides.csv from 'deepslide tiles' (train and val rows), or a folder of class folders (a quarter held for validation).", Required = true };
        var cache = new Option<string?>("--cache") { Description = "Folder for the cached feature bags (default: <model>/bags)." };
        var epochs = new Option<int>("--epochs") { Description = "Most training epochs.", DefaultValueFactory = _ => 60 };
        var seed = new Option<int>("--seed") { Description = "Seed for initialisation, order, dropout and sampling.", DefaultValueFactory = _ => 0 };
        var instanceLoss = new Option<double>("--instance-loss") { Description = "Weight of CLAM's instance-level clustering loss beside the slide's (0: none).", DefaultValueFactory = _ => new AttentionMilOptions().InstanceLoss };
        instanceLoss.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is < 0 or double.NaN or double.PositiveInfinity)
            {
                result.AddError("--instance-loss must be a finite weight of 0 or more.");
            }
        });
        var inference = new InferenceOptionSet();
        var command = new Command("train-mil", "Train the gated-attention MIL slide classifier on slide labels alone, from cached backbone feature bags.") { model, slides, cache, epochs, seed, instanceLoss };
        inference.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            ModelBundle bundle = ModelBundle.Load(parse.GetValue(model)!);
            (IReadOnlyList<LabelledSlide> train, IReadOnlyList<LabelledSlide> val) = Split(parse.GetValue(slides)!, parse.GetValue(seed));
            await TrainAsync(bundle, train, val, parse.GetValue(cache) ?? Path.Combine(bundle.Folder, "bags"), inference.Read(parse), new AttentionMilOptions { MaxEpochs = parse.GetValue(epochs), Seed = parse.GetValue(seed), InstanceLoss = parse.GetValue(instanceLoss) }, Console.WriteLine, cancellationToken);
            Console.WriteLine($"attention MIL added to {bundle.Folder}");
            return 0;
        });
        return command;
    }

    internal static async Task<MilAggregator> TrainAsync(
        ModelBundle bundle, IReadOnlyList<LabelledSlide> train, IReadOnlyList<LabelledSlide> val, string cacheFolder, InferenceOptions inference, AttentionMilOptions options, Action<string> log, CancellationToken cancellationToken)
    {
        using PatchClassifier classifier = PatchClassifier.Load(bundle, inference);
        var cache = new FeatureBagCache(cacheFolder, bundle);
        var classes = bundle.Manifest.Classes.ToList();
        async Task<List<FeatureBag>> Bags(IReadOnlyList<LabelledSlide> slides)
        {
            var bags = new List<FeatureBag>();
            foreach (LabelledSlide slide in slides)
            {
                int label = classes.IndexOf(slide.ClassName);
                if (label < 0)
                {
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, slide.Path, $"its class '{slide.ClassName}' is not one of the model's ({string.Join(", ", classes)}).");
                }

                FeatureBag bag = await cache.GetAsync(slide.Path, label, classifier, cancellationToken);
                if (bag.Count == 0)
                {
                    log($"  {slide.Name}: no tissue, left out of training");
                    continue;
                }

                bags.Add(bag);
            }

            return bags;
        }

        List<FeatureBag> trainBags = await Bags(train);
        List<FeatureBag> valBags = await Bags(val);
        log($"bags: {trainBags.Count} train, {valBags.Count} val ({cache.Hits} cached, {cache.Misses} computed) in {cache.Folder}");
        var watch = Stopwatch.StartNew();
        (AttentionMil model, IReadOnlyList<MilEpochLog> epochs) = AttentionMilTrainer.Train(
            trainBags, valBags, Inference.Onnx.ResNetBackbone.FeatureCount, classes.Count, options,
            e => log(string.Create(CultureInfo.InvariantCulture, $"epoch {e.Epoch,3}  train loss {e.TrainLoss:0.0000}  val loss {e.ValLoss:0.0000}  val balanced accuracy {e.ValBalancedAccuracy:0.000}")));
        var aggregator = new MilAggregator(model);
        bundle.WithManifest(bundle.Manifest with { Aggregation = bundle.Manifest.Aggregation with { Mil = aggregator.ToSpec(cache.Backbone) } });
        log(string.Create(CultureInfo.InvariantCulture, $"trained attention MIL on {trainBags.Count} slides' cached bags in {watch.Elapsed.TotalSeconds:0.0} s ({epochs.Count} epochs)"));
        return aggregator;
    }

    private static (IReadOnlyList<LabelledSlide> Train, IReadOnlyList<LabelledSlide> Val) Split(string path, int seed)
    {
        if (File.Exists(path))
        {
            return (ValidationSlides.Read(path, "train"), ValidationSlides.Read(path, "val"));
        }

        IReadOnlyList<SplitSlide> split = DatasetSplit.Split(SlideDataset.Scan(path), 0.25, 0, seed);
        return (split.Where(s => s.Part == SplitPart.Train).Select(s => s.Slide).ToList(), split.Where(s => s.Part == SplitPart.Val).Select(s => s.Slide).ToList());
    }
}
