namespace DeepSlide.Evaluation;

/// <summary>A corner of the ROC curve; <see cref="Threshold"/> is the lowest score called positive, null for the (0, 0) start.</summary>
public sealed record RocPoint(double FalsePositiveRate, double TruePositiveRate, double? Threshold);

/// <summary>Receiver operating characteristic of one class against the rest.</summary>
public static class Roc
{
    /// <summary>
    /// AUC as the Mann-Whitney statistic: the chance that a random positive scores above a random negative, ties
    /// counting a half. Null when there are no positives or no negatives.
    /// </summary>
    public static double? Auc(ReadOnlySpan<double> scores, ReadOnlySpan<bool> positive)
    {
        int n = scores.Length;
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        double[] keys = scores.ToArray();
        Array.Sort(keys, order);
        long positives = 0;
        double rankSum = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && keys[j + 1] == keys[i])
            {
                j++;
            }

            double averageRank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++)
            {
                if (positive[order[k]])
                {
                    positives++;
                    rankSum += averageRank;
                }
            }

            i = j + 1;
        }

        long negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            return null;
        }

        return (rankSum - positives * (positives + 1) / 2.0) / (positives * (double)negatives);
    }

    /// <summary>The curve's corners, from (0, 0) to (1, 1), one per distinct score.</summary>
    public static IReadOnlyList<RocPoint> Curve(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        int positives = positive.Count(p => p), negatives = positive.Count - positives;
        var points = new List<RocPoint> { new(0, 0, null) };
        if (positives == 0 || negatives == 0)
        {
            return points;
        }

        int[] order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        int tp = 0, fp = 0;
        for (int k = 0; k < order.Length; k++)
        {
            if (positive[order[k]])
            {
                tp++;
            }
            else
            {
                fp++;
            }

            if (k + 1 == order.Length || scores[order[k + 1]] != scores[order[k]])
            {
                points.Add(new RocPoint(fp / (double)negatives, tp / (double)positives, scores[order[k]]));
            }
        }

        return points;
    }
}
