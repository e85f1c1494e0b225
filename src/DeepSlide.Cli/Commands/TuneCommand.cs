using System.CommandLine;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Datasets;
using DeepSlide.Inference;
using DeepSlide.Models;
using DeepSlide.Slides;

namespace DeepSlide.Cli.Commands;

internal static class TuneCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The model bundle to tune (its manifest is updated).", Required = true };
        var slides = new Option<string>("--slides", "-s") { Description = "Validation slides: a folder of class folders, or the slides.csv from 'deepslide tiles' (its val rows).", Required = true };
        var inference = new InferenceOptionSet();
        var command = new Command("tune", "Tune thresholding (per class, plus a minimum share for the normal class) and train the learned slide classifier on validation slides.") { model, slides };
        inference.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            ModelBundle bundle = ModelBundle.Load(parse.GetValue(model)!);
            using PatchClassifier classifier = PatchClassifier.Load(bundle, inference.Read(parse));
            ModelManifest manifest = bundle.Manifest;
            IReadOnlyList<LabelledSlidePatches> labelled = await ClassifyValidationAsync(ValidationSlides.Read(parse.GetValue(slides)!), classifier, cancellationToken);
            (ModelManifest tuned, string report) = Tune(manifest, labelled);
            bundle.WithManifest(tuned);
            Console.Write(report);
            return 0;
        });
        return command;
    }

    internal static async Task<IReadOnlyList<LabelledSlidePatches>> ClassifyValidationAsync(IReadOnlyList<LabelledSlide> slides, PatchClassifier classifier, CancellationToken cancellationToken)
    {
        var classes = classifier.Manifest.Classes.ToList();
        var labelled = new List<LabelledSlidePatches>();
        foreach (LabelledSlide slide in slides)
        {
            int truth = classes.IndexOf(slide.ClassName);
            if (truth < 0)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, slide.Path, $"its class '{slide.ClassName}' is not one of the model's ({string.Join(", ", classes)}).");
            }

            using ISlideReader reader = SlideReader.Open(slide.Path);
            SlideResult result = await SlideClassifier.ClassifyAsync(reader, classifier, [], cancellationToken: cancellationToken);
            labelled.Add(new LabelledSlidePatches(slide.Name, result.Patches, truth));
            Console.WriteLine($"  {slide.Name}: {result.Patches.Count} patches");
        }

        return labelled;
    }

    /// <summary>The manifest with tuned thresholds, minimum share and (when possible) the learned aggregator, and a report.</summary>
    internal static (ModelManifest Manifest, string Report) Tune(ModelManifest manifest, IReadOnlyList<LabelledSlidePatches> labelled)
    {
        var classes = manifest.Classes.ToList();
        int? normal = manifest.Aggregation.NormalClass is string n ? classes.IndexOf(n) : null;
        ThresholdTuning tuning = ThresholdTuner.Tune(labelled, normal);
        (LearnedAggregator? learned, string? reason) = LearnedAggregator.Train(labelled);

        var accuracy = new Dictionary<string, double>();
        int[] truths = labelled.Select(s => s.Truth).ToArray();
        void Measure(ISlideAggregator a) => accuracy[a.Name] = SlideMetrics.BalancedAccuracy(truths, labelled.Select(s => a.Aggregate(s.Patches).Label is string l ? classes.IndexOf(l) : (int?)null).ToArray());
        Plateau? majorityShare = normal is null ? null : ThresholdTuner.TuneMinShare(labelled, share => new MajorityVoteAggregator(normal, share));
        Plateau? meanShare = normal is null ? null : ThresholdTuner.TuneMinShare(labelled, share => new MeanProbabilityAggregator(normal, share));
        Measure(new MajorityVoteAggregator(normal, majorityShare?.Chosen ?? 0));
        Measure(new MeanProbabilityAggregator(normal, meanShare?.Chosen ?? 0));
        accuracy["threshold"] = tuning.BalancedAccuracy;
        if (learned is not null)
        {
            Measure(learned);
        }

        var tuned = manifest with
        {
            Aggregation = manifest.Aggregation with
            {
                Thresholds = classes.Select((c, i) => (c, tuning.Thresholds[i])).ToDictionary(p => p.c, p => p.Item2),
                MinShare = tuning.MinShare,
                MinFocus = tuning.MinFocus,
                MinShares = normal is null ? null : new Dictionary<string, double> { ["majority"] = majorityShare!.Chosen, ["mean"] = meanShare!.Chosen },
                Learned = learned?.ToSpec(),
                LearnedNotTrained = reason,
                TunedBalancedAccuracy = accuracy,
            },
        };
        var c = CultureInfo.InvariantCulture;
        var report = new System.Text.StringBuilder();
        report.AppendLine(string.Create(c, $"tuned on {labelled.Count} validation slides"));
        static string Range(Plateau? p) => p is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" (best {p.Score:0.000} from {p.Low:0.####} to {p.High:0.####}: the centre is taken)");
        report.AppendLine(string.Create(c, $"  DeepSlide's single threshold {tuning.SharedThreshold:0.00}{Range(tuning.SharedPlateau)}"));
        for (int i = 0; i < classes.Count && i < tuning.ClassPlateaus.Count; i++)
        {
            report.AppendLine(string.Create(c, $"  threshold for {classes[i]}: {tuning.Thresholds[i]:0.00}{Range(tuning.ClassPlateaus[i])}"));
        }

        if (normal is not null)
        {
            report.AppendLine(tuning.MinFocus > 0
                ? string.Create(c, $"  threshold by focus: a non-{classes[normal.Value]} call needs a connected cluster of {tuning.MinFocus} counted patches{(tuning.MinFocusPlateau is { } f ? $" (best {f.Score:0.000} from {f.Low:0} to {f.High:0})" : string.Empty)}; balanced accuracy by focus {tuning.FocusRuleBalancedAccuracy:0.000}, by share {tuning.ShareRuleBalancedAccuracy:0.000}")
                : string.Create(c, $"  min share of a non-{classes[normal.Value]} class, threshold: {tuning.MinShare:0.####}{Range(tuning.MinSharePlateau)}{(tuning.FocusRuleBalancedAccuracy is double fr ? $"; by share {tuning.ShareRuleBalancedAccuracy:0.000} beat by focus {fr:0.000}" : string.Empty)}"));
            report.AppendLine(string.Create(c, $"  min share, majority: {majorityShare!.Chosen:0.####}{Range(majorityShare)}"));
            report.AppendLine(string.Create(c, $"  min share, mean: {meanShare!.Chosen:0.####}{Range(meanShare)}"));
        }

        report.AppendLine(reason is null ? "  learned aggregator trained" : $"  learned aggregator not trained: {reason}; 'classify' will not offer it");
        foreach ((string method, double value) in accuracy)
        {
            report.AppendLine(string.Create(c, $"  {method,-10} balanced accuracy {value:0.000}"));
        }

        return (tuned, report.ToString());
    }
}
