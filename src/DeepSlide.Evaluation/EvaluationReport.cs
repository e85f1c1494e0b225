using DeepSlide.Aggregation;
using DeepSlide.Results;

namespace DeepSlide.Evaluation;

public sealed record MethodEvaluation(string Method, ClassificationMetrics Metrics);

/// <summary>
/// Patch-level metrics against region truth: each patch's truth is the class of the region holding most of its area
/// (or the slide's label on a slide without annotations). Mixed patches, where no class holds most of the area, are
/// counted and left out.
/// </summary>
public sealed record RegionEvaluation(ClassificationMetrics Metrics, int AnnotatedSlides, int SlidesByLabel, int MixedPatchesLeftOut, string? OutsideClass)
{
    /// <summary>Whether each annotated slide's largest focus was found, on slides with a focus.</summary>
    public FocusDetection? Foci { get; init; }
}

/// <summary>
/// Per slide with a focus (annotated regions of a class other than the outside one): whether its largest focus was
/// found, that is, at least one patch over it called a class other than the outside class (its own class when no
/// outside class is named).
/// </summary>
public sealed record FocusDetection(int Slides, int Found, IReadOnlyList<string> Missed)
{
    public double Rate => Slides == 0 ? double.NaN : Found / (double)Slides;
}

public sealed record ReaderEvaluation(string Reader, int Slides, double Accuracy, double BalancedAccuracy, double KappaWithModel, double KappaWithTruth);

public sealed record EvaluationReport
{
    public required IReadOnlyList<string> Classes { get; init; }

    public required IReadOnlyList<MethodEvaluation> Methods { get; init; }

    public MethodEvaluation? Patches { get; init; }

    /// <summary>Patches scored against the region they lie in (region annotations), when annotations were given.</summary>
    public RegionEvaluation? Regions { get; init; }

    /// <summary>The method pathologists are compared with.</summary>
    public required string PrimaryMethod { get; init; }

    public IReadOnlyList<ReaderEvaluation> Readers { get; init; } = [];

    /// <summary>1 is best: the model's place among the readers by accuracy on the slides they all read.</summary>
    public int? ModelRankAmongReaders { get; init; }

    public IReadOnlyList<string> LabelledWithoutResult { get; init; } = [];

    public IReadOnlyList<string> ResultWithoutLabel { get; init; } = [];

    public IReadOnlyList<string> NotClassified { get; init; } = [];
}

/// <summary>Joins classify results with labels and computes the report.</summary>
public static class SlideEvaluator
{
    public static EvaluationReport Evaluate(
        IReadOnlyList<SlideResultFile> results, SlideLabels labels, BootstrapOptions? bootstrap = null, string primaryMethod = "threshold", RegionTruth? regions = null)
    {
        IReadOnlyList<string> classes = results.FirstOrDefault(r => r.Classes.Count > 0)?.Classes
            ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, null, "no result names its classes.");
        var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        foreach ((string slide, string label) in labels.Truth)
        {
            if (!index.ContainsKey(label))
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, slide, $"its label '{label}' is not one of the model's classes ({string.Join(", ", classes)}).");
            }
        }

        var joined = results.Where(r => labels.Truth.ContainsKey(r.Slide)).ToList();
        int[] truths = joined.Select(r => index[labels.Truth[r.Slide]]).ToArray();
        var methods = joined.SelectMany(r => r.Calls.Select(c => c.Method)).Distinct().ToList();
        var evaluations = new List<MethodEvaluation>();
        foreach (string method in methods)
        {
            var calls = new int?[joined.Count];
            var scores = new double[joined.Count][];
            for (int i = 0; i < joined.Count; i++)
            {
                SlideCallFile? call = joined[i].Calls.FirstOrDefault(c => c.Method == method);
                calls[i] = call?.Label is string l && index.TryGetValue(l, out int k) ? k : null;
                scores[i] = classes.Select(c => call?.Scores.GetValueOrDefault(c) ?? 0).ToArray();
            }

            evaluations.Add(new MethodEvaluation(method, Metrics.Compute(classes, truths, calls, scores, bootstrap)));
        }

        // Patches carry their slide's label, as DeepSlide's patch folders do.
        var patchTruths = new List<int>();
        var patchCalls = new List<int?>();
        var patchScores = new List<double[]>();
        for (int i = 0; i < joined.Count; i++)
        {
            foreach (PatchFile p in joined[i].Patches)
            {
                patchTruths.Add(truths[i]);
                patchCalls.Add(index.TryGetValue(p.Prediction, out int k) ? k : null);
                patchScores.Add([.. p.Probabilities]);
            }
        }

        MethodEvaluation? patches = patchTruths.Count > 0 ? new MethodEvaluation("patches", Metrics.Compute(classes, patchTruths, patchCalls, patchScores)) : null;
        RegionEvaluation? regionEvaluation = regions is null ? null : EvaluateRegions(joined, truths, classes, index, regions, bootstrap);
        string primary = methods.Contains(primaryMethod) ? primaryMethod : methods.FirstOrDefault() ?? primaryMethod;
        (IReadOnlyList<ReaderEvaluation> readers, int? rank) = CompareReaders(joined, labels, index, primary);
        return new EvaluationReport
        {
            Classes = classes,
            Methods = evaluations,
            Patches = patches,
            Regions = regionEvaluation,
            PrimaryMethod = primary,
            Readers = readers,
            ModelRankAmongReaders = rank,
            LabelledWithoutResult = labels.Truth.Keys.Except(results.Select(r => r.Slide)).Order(StringComparer.Ordinal).ToList(),
            ResultWithoutLabel = results.Select(r => r.Slide).Except(labels.Truth.Keys).Order(StringComparer.Ordinal).ToList(),
            NotClassified = joined.Where(r => r.Status != "classified").Select(r => $"{r.Slide} ({r.Status}{(r.Error is null ? string.Empty : ": " + r.Error)})").ToList(),
        };
    }

    private static RegionEvaluation? EvaluateRegions(
        List<SlideResultFile> joined, int[] slideTruths, IReadOnlyList<string> classes, Dictionary<string, int> index, RegionTruth regions, BootstrapOptions? bootstrap)
    {
        if (regions.OutsideClass is string outside && !index.ContainsKey(outside))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"--outside names class '{outside}', which is not one of the model's classes ({string.Join(", ", classes)}).");
        }

        var truths = new List<int>();
        var calls = new List<int?>();
        var scores = new List<double[]>();
        int annotated = 0, byLabel = 0, mixed = 0, withFocus = 0;
        var missed = new List<string>();
        for (int i = 0; i < joined.Count; i++)
        {
            SlideResultFile result = joined[i];
            if (result.Patches.Count == 0)
            {
                continue;
            }

            Annotations.RegionAnnotations? annotations = regions.For(result.Slide, classes);
            double size = result.Plan is { } plan ? plan.Window * plan.Downsample
                : throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, result.Slide, "its result has no plan geometry; classify it again with this version.");
            if (annotations is null)
            {
                byLabel++;
            }
            else
            {
                annotated++;
                if (Annotations.AnnotatedFoci.Of(annotations, regions.OutsideClass).FirstOrDefault() is { } focus)
                {
                    withFocus++;
                    bool Flags(PatchFile p) => regions.OutsideClass is string outsideClass ? p.Prediction != outsideClass : p.Prediction == focus.ClassName;
                    if (!result.Patches.Any(p => Flags(p) && focus.Under(p.X, p.Y, size)))
                    {
                        missed.Add(result.Slide);
                    }
                }
            }

            foreach (PatchFile p in result.Patches)
            {
                int truth;
                if (annotations is null)
                {
                    truth = slideTruths[i];
                }
                else if (annotations.LabelOf(p.X, p.Y, size, regions.OutsideClass).ClassName is string c)
                {
                    truth = index[c];
                }
                else
                {
                    mixed++;
                    continue;
                }

                truths.Add(truth);
                calls.Add(index.TryGetValue(p.Prediction, out int k) ? k : null);
                scores.Add([.. p.Probabilities]);
            }
        }

        return truths.Count == 0 ? null : new RegionEvaluation(Metrics.Compute(classes, truths, calls, scores, bootstrap), annotated, byLabel, mixed, regions.OutsideClass)
        {
            Foci = withFocus == 0 ? null : new FocusDetection(withFocus, withFocus - missed.Count, missed),
        };
    }

    private static (IReadOnlyList<ReaderEvaluation>, int?) CompareReaders(List<SlideResultFile> joined, SlideLabels labels, Dictionary<string, int> index, string method)
    {
        if (labels.Readers.Count == 0)
        {
            return ([], null);
        }

        int? Call(SlideResultFile r) => r.Calls.FirstOrDefault(c => c.Method == method)?.Label is string l && index.TryGetValue(l, out int k) ? k : null;
        int? Read(string reader, string slide) => labels.Reads[reader].TryGetValue(slide, out string? l) && index.TryGetValue(l, out int k) ? k : null;
        var evaluations = new List<ReaderEvaluation>();
        foreach (string reader in labels.Readers)
        {
            var read = joined.Where(r => labels.Reads[reader].ContainsKey(r.Slide)).ToList();
            if (read.Count == 0)
            {
                continue;
            }

            int[] truth = read.Select(r => index[labels.Truth[r.Slide]]).ToArray();
            int?[] reads = read.Select(r => Read(reader, r.Slide)).ToArray();
            int?[] model = read.Select(Call).ToArray();
            evaluations.Add(new ReaderEvaluation(
                reader,
                read.Count,
                Enumerable.Range(0, read.Count).Count(i => reads[i] == truth[i]) / (double)read.Count,
                SlideMetrics.BalancedAccuracy(truth, reads),
                Metrics.CohensKappa(model, reads),
                Metrics.CohensKappa(truth.Select(t => (int?)t).ToList(), reads)));
        }

        // Rank on the slides every reader read, so all are judged on the same cases.
        var common = joined.Where(r => labels.Readers.All(reader => labels.Reads[reader].ContainsKey(r.Slide))).ToList();
        if (common.Count == 0)
        {
            return (evaluations, null);
        }

        double Accuracy(Func<SlideResultFile, int?> call) => common.Count(r => call(r) == index[labels.Truth[r.Slide]]) / (double)common.Count;
        double modelAccuracy = Accuracy(Call);
        int rank = 1 + labels.Readers.Count(reader => Accuracy(r => Read(reader, r.Slide)) > modelAccuracy);
        return (evaluations, rank);
    }
}
