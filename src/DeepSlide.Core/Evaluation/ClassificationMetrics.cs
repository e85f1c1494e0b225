namespace DeepSlide.Evaluation;

public sealed record ClassMetrics(string Class, double Precision, double Recall, double F1, int Support, double? Auc);

public sealed record AveragedMetrics(double Precision, double Recall, double F1);

public sealed record Interval(double Low, double High);

/// <summary>Metrics of one method's calls against ground truth, with bootstrap intervals where asked for.</summary>
public sealed record ClassificationMetrics
{
    public required IReadOnlyList<string> Classes { get; init; }

    public required int Count { get; init; }

    public required double Accuracy { get; init; }

    public required double BalancedAccuracy { get; init; }

    public required IReadOnlyList<ClassMetrics> PerClass { get; init; }

    public required AveragedMetrics Macro { get; init; }

    public required AveragedMetrics Weighted { get; init; }

    /// <summary>Rows are truths, columns predictions; the last column counts cases called nothing.</summary>
    public required int[][] Confusion { get; init; }

    /// <summary>Each row of <see cref="Confusion"/> divided by its total.</summary>
    public required double[][] ConfusionNormalized { get; init; }

    public double? MacroAuc { get; init; }

    public IReadOnlyList<IReadOnlyList<RocPoint>>? RocCurves { get; init; }

    public Interval? AccuracyInterval { get; init; }

    public Interval? BalancedAccuracyInterval { get; init; }

    public Interval? MacroAucInterval { get; init; }

    public IReadOnlyList<Interval?>? AucIntervals { get; init; }
}

public sealed record BootstrapOptions(int Resamples = 1000, int Seed = 0, double Level = 0.95);

/// <summary>
/// Accuracy, balanced accuracy, per-class precision, recall, F1 and support with macro and weighted averages,
/// the confusion matrix, one-vs-rest ROC and AUC with macro AUC, and percentile bootstrap intervals.
/// A case called nothing (null) counts as wrong everywhere.
/// </summary>
public static class Metrics
{
    public static ClassificationMetrics Compute(
        IReadOnlyList<string> classes, IReadOnlyList<int> truths, IReadOnlyList<int?> calls, IReadOnlyList<double[]>? scores = null, BootstrapOptions? bootstrap = null)
    {
        int n = truths.Count, c = classes.Count;
        if (calls.Count != n || (scores is not null && scores.Count != n))
        {
            throw new ArgumentException("Truths, calls and scores must have one entry per case.");
        }

        if (n == 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, null, "there is nothing to evaluate: no case has both a result and a label.");
        }

        var confusion = new int[c][];
        for (int t = 0; t < c; t++)
        {
            confusion[t] = new int[c + 1];
        }

        for (int i = 0; i < n; i++)
        {
            confusion[truths[i]][calls[i] ?? c]++;
        }

        var perClass = new List<ClassMetrics>();
        double?[] aucs = new double?[c];
        if (scores is not null)
        {
            for (int k = 0; k < c; k++)
            {
                aucs[k] = ClassAuc(scores, truths, k, Enumerable.Range(0, n).ToArray());
            }
        }

        for (int k = 0; k < c; k++)
        {
            int tp = confusion[k][k];
            int predicted = Enumerable.Range(0, c).Sum(t => confusion[t][k]);
            int support = confusion[k].Sum();
            double precision = predicted == 0 ? 0 : tp / (double)predicted;
            double recall = support == 0 ? 0 : tp / (double)support;
            double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            perClass.Add(new ClassMetrics(classes[k], precision, recall, f1, support, aucs[k]));
        }

        var present = perClass.Where(m => m.Support > 0).ToList();
        double? macroAuc = scores is null ? null : MacroAuc(aucs);
        var result = new ClassificationMetrics
        {
            Classes = classes,
            Count = n,
            Accuracy = Enumerable.Range(0, c).Sum(k => confusion[k][k]) / (double)n,
            BalancedAccuracy = present.Average(m => m.Recall),
            PerClass = perClass,
            Macro = new AveragedMetrics(present.Average(m => m.Precision), present.Average(m => m.Recall), present.Average(m => m.F1)),
            Weighted = new AveragedMetrics(
                present.Sum(m => m.Precision * m.Support) / n, present.Sum(m => m.Recall * m.Support) / n, present.Sum(m => m.F1 * m.Support) / n),
            Confusion = confusion,
            ConfusionNormalized = confusion.Select(row => row.Select(v => row.Sum() == 0 ? 0 : v / (double)row.Sum()).ToArray()).ToArray(),
            MacroAuc = macroAuc,
            RocCurves = scores is null ? null : Enumerable.Range(0, c).Select(k => Roc.Curve(scores.Select(s => s[k]).ToList(), truths.Select(t => t == k).ToList())).ToList(),
        };
        return bootstrap is null ? result : WithIntervals(result, truths, calls, scores, bootstrap);
    }

    /// <summary>Cohen's kappa between two sets of calls on the same cases (null calls are their own category).</summary>
    public static double CohensKappa(IReadOnlyList<int?> a, IReadOnlyList<int?> b)
    {
        if (a.Count != b.Count || a.Count == 0)
        {
            throw new ArgumentException("Kappa needs two equally long, non-empty sets of calls.");
        }

        int n = a.Count;
        double observed = Enumerable.Range(0, n).Count(i => a[i] == b[i]) / (double)n;
        var categories = a.Concat(b).Distinct().ToList();
        double expected = categories.Sum(k => a.Count(x => x == k) / (double)n * (b.Count(x => x == k) / (double)n));
        return expected >= 1 ? 1 : (observed - expected) / (1 - expected);
    }

    private static ClassificationMetrics WithIntervals(
        ClassificationMetrics result, IReadOnlyList<int> truths, IReadOnlyList<int?> calls, IReadOnlyList<double[]>? scores, BootstrapOptions options)
    {
        int n = truths.Count, c = result.Classes.Count;
        var random = new Random(options.Seed);
        var accuracy = new List<double>(options.Resamples);
        var balanced = new List<double>(options.Resamples);
        var macro = new List<double>(options.Resamples);
        var perClass = Enumerable.Range(0, c).Select(_ => new List<double>(options.Resamples)).ToArray();
        var sample = new int[n];
        var recallHits = new int[c];
        var recallTotals = new int[c];
        for (int r = 0; r < options.Resamples; r++)
        {
            Array.Clear(recallHits);
            Array.Clear(recallTotals);
            int correct = 0;
            for (int i = 0; i < n; i++)
            {
                int s = random.Next(n);
                sample[i] = s;
                bool right = calls[s] == truths[s];
                correct += right ? 1 : 0;
                recallTotals[truths[s]]++;
                recallHits[truths[s]] += right ? 1 : 0;
            }

            accuracy.Add(correct / (double)n);
            balanced.Add(Enumerable.Range(0, c).Where(k => recallTotals[k] > 0).Average(k => recallHits[k] / (double)recallTotals[k]));
            if (scores is not null)
            {
                var aucs = new double?[c];
                for (int k = 0; k < c; k++)
                {
                    aucs[k] = ClassAuc(scores, truths, k, sample);
                    if (aucs[k] is double a)
                    {
                        perClass[k].Add(a);
                    }
                }

                if (MacroAuc(aucs) is double m)
                {
                    macro.Add(m);
                }
            }
        }

        double tail = (1 - options.Level) / 2;
        return result with
        {
            AccuracyInterval = Percentiles(accuracy, tail),
            BalancedAccuracyInterval = Percentiles(balanced, tail),
            MacroAucInterval = scores is null ? null : Percentiles(macro, tail),
            AucIntervals = scores is null ? null : perClass.Select(values => values.Count == 0 ? null : Percentiles(values, tail)).ToList(),
        };
    }

    private static double? ClassAuc(IReadOnlyList<double[]> scores, IReadOnlyList<int> truths, int k, int[] cases)
    {
        var s = new double[cases.Length];
        var p = new bool[cases.Length];
        for (int i = 0; i < cases.Length; i++)
        {
            s[i] = scores[cases[i]][k];
            p[i] = truths[cases[i]] == k;
        }

        return Roc.Auc(s, p);
    }

    private static double? MacroAuc(double?[] aucs)
    {
        var defined = aucs.Where(a => a is not null).Select(a => a!.Value).ToList();
        return defined.Count == 0 ? null : defined.Average();
    }

    private static Interval? Percentiles(List<double> values, double tail)
    {
        if (values.Count == 0)
        {
            return null;
        }

        values.Sort();
        return new Interval(values[(int)Math.Floor(tail * (values.Count - 1))], values[(int)Math.Ceiling((1 - tail) * (values.Count - 1))]);
    }
}
