using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Datasets;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using Google.Protobuf;

namespace DeepSlide.Training;

public sealed record RefinementOptions
{
    public int Rounds { get; init; } = 2;

    /// <summary>The label error rate allowed on each side when the cut-offs are set on the validation slides.</summary>
    public double ErrorRate { get; init; } = 0.05;

    public int Seed { get; init; }
}

/// <summary>What one round kept of one class's training slides, and the cut-offs it used.</summary>
public sealed record RefinementStep(int Round, string ClassName, string Score, double High, double Low, int Slides, int Patches, int KeptClass, int KeptNormal, int LeftOut);

/// <summary>
/// Weak-label refinement for slides labelled as a whole. On a tumour slide only part of the tissue is tumour, so
/// "every patch carries the slide's label" teaches the head that benign tissue is tumour. Each round scores every
/// patch of a non-normal slide (round 1: the attention MIL model's score, which depends on the patch alone; later
/// rounds: the previous head's log-odds of the slide's class against normal), keeps the high scorers as the slide's
/// class and the low scorers as normal, leaves the middle out, and retrains the head on the cached features.
/// The cut-offs come from the validation slides: the normal slides' patches give the scores of normal tissue, and
/// each class's validation slides the mixture. The high cut-off is the lowest score above which the estimated share
/// of normal tissue is at most <see cref="RefinementOptions.ErrorRate"/>; the low one the highest score below which
/// the estimated share of tumour is at most that rate.
/// </summary>
public sealed class WeakLabelRefiner(RefinementOptions options)
{
    public (ModelBundle Bundle, IReadOnlyList<RefinementStep> Steps) Refine(ModelBundle bundle, IReadOnlyDictionary<string, string> slideClasses, Action<string>? log = null)
    {
        ModelManifest manifest = bundle.Manifest;
        IReadOnlyList<string> classes = manifest.Classes;
        int normal = manifest.Aggregation.NormalClass is string n ? classes.ToList().IndexOf(n) : -1;
        if (normal < 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, bundle.Folder, "refinement needs a normal class (aggregation.normalClass, e.g. 'benign'): low-scoring patches of a tumour slide become that class.");
        }

        if (manifest.Aggregation.Mil is not { } milSpec)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, bundle.Folder, "refinement ranks patches with the attention MIL model; run 'deepslide train-mil' on this bundle first.");
        }

        PatchFeatureCache cache = PatchFeatureCache.Read(bundle.Folder);
        AttentionMil mil = MilAggregator.FromSpec(milSpec, classes.Count).Model;
        int count = cache.Rows.Count, d = cache.Dimension;

        // Each row's slide and that slide's class; the view-0 row of a file decides for all of its views.
        var slideOf = new string[count];
        var slideClass = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (!PatchFileName.TryParse(cache.Rows[i].File, out string slide, out _, out _) || !slideClasses.TryGetValue(slide, out string? cls))
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, cache.Rows[i].File, "the patch's slide is not listed in the slides CSV given to refine.");
            }

            slideOf[i] = slide;
            slideClass[i] = classes.ToList().IndexOf(cls);
            if (slideClass[i] < 0)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, cls, $"slide '{slide}' has class '{cls}', which is not one of the model's ({string.Join(", ", classes)}).");
            }
        }

        int[] source = SourceRows(cache);
        var steps = new List<RefinementStep>();
        SoftmaxModel? head = null;
        int[] labels = new int[count];
        for (int round = 1; round <= options.Rounds; round++)
        {
            double[][] scores = Scores(cache, mil, head, classes.Count, normal);
            Array.Fill(labels, -1);
            for (int c = 0; c < classes.Count; c++)
            {
                if (c == normal)
                {
                    for (int i = 0; i < count; i++)
                    {
                        labels[i] = slideClass[i] == normal ? normal : labels[i];
                    }

                    continue;
                }

                double[] nullScores = ViewZero(cache, i => cache.Rows[i].Val && slideClass[i] == normal).Select(i => scores[c][i]).ToArray();
                double[] mixture = ViewZero(cache, i => cache.Rows[i].Val && slideClass[i] == c).Select(i => scores[c][i]).ToArray();
                if (nullScores.Length == 0 || mixture.Length == 0)
                {
                    throw new DeepSlideException(
                        DeepSlideErrorReason.InvalidDataset,
                        bundle.Folder,
                        $"the cut-offs are set on validation patches of the normal class '{classes[normal]}' and of '{classes[c]}'; the cached features have {nullScores.Length} and {mixture.Length}.");
                }

                (double high, double low) = CutOffs(nullScores, mixture, options.ErrorRate);
                int keptClass = 0, keptNormal = 0, leftOut = 0;
                var slides = new HashSet<string>();
                for (int i = 0; i < count; i++)
                {
                    if (slideClass[i] != c)
                    {
                        continue;
                    }

                    double s = scores[c][source[i]];
                    labels[i] = s >= high ? c : s <= low ? normal : -1;
                    if (!cache.Rows[i].Val && cache.Rows[i].View == 0)
                    {
                        slides.Add(slideOf[i]);
                        keptClass += labels[i] == c ? 1 : 0;
                        keptNormal += labels[i] == normal ? 1 : 0;
                        leftOut += labels[i] < 0 ? 1 : 0;
                    }
                }

                string score = round == 1 ? "attention" : "head log-odds";
                steps.Add(new RefinementStep(round, classes[c], score, high, low, slides.Count, keptClass + keptNormal + leftOut, keptClass, keptNormal, leftOut));
                log?.Invoke(string.Create(
                    CultureInfo.InvariantCulture,
                    $"round {round} {classes[c],-16} {score} cut-offs: {classes[c]} at >= {high:0.###}, {classes[normal]} at <= {low:0.###}; of {keptClass + keptNormal + leftOut} training patches on {slides.Count} slides: {keptClass} kept as {classes[c]}, {keptNormal} as {classes[normal]}, {leftOut} left out"));
            }

            head = TrainHead(cache, labels, classes.Count, round, log);
        }

        byte[] onnx = ClassifierGraph.Build(ResNetBackbone.Build(), head!).ToByteArray();

        int trainKept = labels.Where((l, i) => l >= 0 && !cache.Rows[i].Val).Count();
        ModelManifest refined = manifest with
        {
            Aggregation = new AggregationSpec
            {
                NormalClass = manifest.Aggregation.NormalClass,
                Mil = milSpec,
                LearnedNotTrained = "the head was refined after tuning; run 'deepslide tune' again",
            },
            Training = (manifest.Training ?? new TrainingProvenance()) with
            {
                Labels = "refined",
                RefinementRound = (manifest.Training?.RefinementRound ?? 0) + options.Rounds,
                TrainPatches = trainKept,
            },
        };
        ModelBundle saved = ModelBundle.Save(bundle.Folder, refined, onnx);
        File.WriteAllLines(
            Path.Combine(bundle.Folder, "refinement-log.csv"),
            ["round,class,score,cut_high,cut_low,slides,train_patches,kept_class,kept_normal,left_out",
             .. steps.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Round},{s.ClassName},{s.Score},{s.High:0.######},{s.Low:0.######},{s.Slides},{s.Patches},{s.KeptClass},{s.KeptNormal},{s.LeftOut}"))]);
        return (saved, steps);
    }

    /// <summary>
    /// The cut-offs on one class's scores. <paramref name="nullScores"/> are normal tissue's (validation normal
    /// slides); <paramref name="mixture"/> the class's validation slides, part tumour and part normal tissue.
    /// High: the lowest score t with (patches of the mixture expected above t if all were normal) / (patches above t)
    /// at most <paramref name="errorRate"/>. Low: the highest t below which the normal share of the mixture, estimated
    /// from how much of it lies under the normal median, explains all but <paramref name="errorRate"/> of what lies below.
    /// </summary>
    public static (double High, double Low) CutOffs(double[] nullScores, double[] mixture, double errorRate)
    {
        double[] sortedNull = [.. nullScores.Order()];
        double[] sortedMixture = [.. mixture.Order()];
        double[] candidates = [.. nullScores.Concat(mixture).Distinct().Order()];
        int n = sortedMixture.Length;
        double NullAtOrBelow(double t) => UpperBound(sortedNull, t) / (double)sortedNull.Length;
        int MixtureAtOrBelow(double t) => UpperBound(sortedMixture, t);
        int MixtureAtOrAbove(double t) => n - LowerBound(sortedMixture, t);

        double high = sortedNull[^1];
        foreach (double t in candidates)
        {
            int above = MixtureAtOrAbove(t);
            if (above > 0 && n * (1 - NullAtOrBelow(t)) / above <= errorRate)
            {
                high = t;
                break;
            }
        }

        double median = sortedNull[sortedNull.Length / 2];
        double normalShare = Math.Min(1, MixtureAtOrBelow(median) / (NullAtOrBelow(median) * n));
        double low = sortedNull[0];
        foreach (double t in candidates.TakeWhile(t => t < high))
        {
            int below = MixtureAtOrBelow(t);
            if (below > 0 && 1 - Math.Min(1, normalShare * n * NullAtOrBelow(t) / below) <= errorRate)
            {
                low = t;
            }
        }

        return (high, Math.Min(low, high));
    }

    // The count of sorted values below t.
    private static int LowerBound(double[] sorted, double t)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (sorted[mid] < t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    // The count of sorted values at or below t.
    private static int UpperBound(double[] sorted, double t)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (sorted[mid] <= t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static IEnumerable<int> ViewZero(PatchFeatureCache cache, Func<int, bool> where) =>
        Enumerable.Range(0, cache.Rows.Count).Where(i => cache.Rows[i].View == 0 && where(i));

    // For every row, the row of its file's original view.
    private static int[] SourceRows(PatchFeatureCache cache)
    {
        var source = new int[cache.Rows.Count];
        for (int i = 0; i < source.Length; i++)
        {
            source[i] = cache.Rows[i].View == 0 ? i : source[i - 1];
        }

        return source;
    }

    // scores[c][row]: attention for every class in round 1; later, the head's log-odds of c against normal.
    private static double[][] Scores(PatchFeatureCache cache, AttentionMil mil, SoftmaxModel? head, int classes, int normal)
    {
        int count = cache.Rows.Count;
        var scores = new double[classes][];
        if (head is null)
        {
            double[] attention = mil.AttentionScores(cache.Features, count);
            for (int c = 0; c < classes; c++)
            {
                scores[c] = attention;
            }

            return scores;
        }

        for (int c = 0; c < classes; c++)
        {
            scores[c] = new double[count];
        }

        Parallel.For(0, count, () => new float[classes], (i, _, p) =>
        {
            head.Predict(cache.Row(i), p);
            for (int c = 0; c < classes; c++)
            {
                scores[c][i] = Math.Log(Math.Max(p[c], 1e-12)) - Math.Log(Math.Max(p[normal], 1e-12));
            }

            return p;
        }, _ => { });
        return scores;
    }

    private SoftmaxModel TrainHead(PatchFeatureCache cache, int[] labels, int classes, int round, Action<string>? log)
    {
        int d = cache.Dimension;
        List<int> train = Enumerable.Range(0, labels.Length).Where(i => labels[i] >= 0 && !cache.Rows[i].Val).ToList();
        List<int> val = Enumerable.Range(0, labels.Length).Where(i => labels[i] >= 0 && cache.Rows[i].Val).ToList();
        float[] Gather(List<int> rows)
        {
            var x = new float[rows.Count * d];
            for (int k = 0; k < rows.Count; k++)
            {
                cache.Row(rows[k]).CopyTo(x.AsSpan(k * d, d));
            }

            return x;
        }

        (SoftmaxModel head, IReadOnlyList<EpochLog> epochs) = SoftmaxRegression.Train(
            Gather(train), [.. train.Select(i => labels[i])], d, classes,
            val.Count > 0 ? Gather(val) : null, val.Count > 0 ? [.. val.Select(i => labels[i])] : null,
            new SoftmaxTrainingOptions { Seed = options.Seed });
        EpochLog best = epochs.Where(e => e.ValLoss is not null).OrderBy(e => e.ValLoss).FirstOrDefault() ?? epochs[^1];
        log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"round {round}: head retrained on {train.Count} training views ({epochs.Count} epochs), validation accuracy on the refined labels {best.ValAccuracy:P1}"));
        return head;
    }
}
