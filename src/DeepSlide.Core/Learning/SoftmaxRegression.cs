namespace DeepSlide.Learning;

public sealed record SoftmaxTrainingOptions
{
    public double L2 { get; init; } = 1e-3;

    public double LearningRate { get; init; } = 0.01;

    public int MaxEpochs { get; init; } = 100;

    /// <summary>Epochs without a better validation loss before training stops.</summary>
    public int Patience { get; init; } = 8;

    public int BatchSize { get; init; } = 128;

    public int Seed { get; init; }

    /// <summary>Weight each class by n / (classes * n_c), so rare classes count as much as common ones.</summary>
    public bool BalanceClasses { get; init; } = true;
}

public sealed record EpochLog(int Epoch, double TrainLoss, double? ValLoss, double? ValAccuracy);

/// <summary>A linear softmax classifier: p = softmax(W x + b). Weights are row-major, classes x features.</summary>
public sealed class SoftmaxModel
{
    public SoftmaxModel(int classes, int features, float[] weights, float[] bias)
    {
        if (weights.Length != classes * features || bias.Length != classes)
        {
            throw new ArgumentException("Weight or bias size does not match classes x features.");
        }

        Classes = classes;
        Features = features;
        Weights = weights;
        Bias = bias;
    }

    public int Classes { get; }

    public int Features { get; }

    public float[] Weights { get; }

    public float[] Bias { get; }

    public void Predict(ReadOnlySpan<float> x, Span<float> probabilities)
    {
        Logits(x, probabilities);
        SoftmaxInPlace(probabilities[..Classes]);
    }

    /// <summary>W x + b, one value a class.</summary>
    public void Logits(ReadOnlySpan<float> x, Span<float> logits)
    {
        for (int c = 0; c < Classes; c++)
        {
            float z = Bias[c];
            ReadOnlySpan<float> w = Weights.AsSpan(c * Features, Features);
            for (int j = 0; j < Features; j++)
            {
                z += w[j] * x[j];
            }

            logits[c] = z;
        }
    }

    /// <summary>Softmax in place, shifted by the maximum so large logits do not overflow (float or double).</summary>
    public static void SoftmaxInPlace<T>(Span<T> values)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        T max = T.NegativeInfinity;
        foreach (T v in values)
        {
            max = T.Max(max, v);
        }

        T sum = T.Zero;
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = T.Exp(values[i] - max);
            sum += values[i];
        }

        for (int i = 0; i < values.Length; i++)
        {
            values[i] /= sum;
        }
    }
}

/// <summary>
/// Trains a <see cref="SoftmaxModel"/> with class-weighted cross-entropy, L2 and Adam on minibatches, stopping early
/// on validation loss and keeping the best epoch. Features are standardised for training, and the standardisation
/// is folded back into the weights, so the model takes raw features.
/// </summary>
public static class SoftmaxRegression
{
    public static (SoftmaxModel Model, IReadOnlyList<EpochLog> Log) Train(
        float[] x, int[] y, int features, int classes, float[]? valX, int[]? valY, SoftmaxTrainingOptions? options = null, Action<EpochLog>? progress = null)
    {
        options ??= new SoftmaxTrainingOptions();
        int n = y.Length;
        if (x.Length != n * features)
        {
            throw new ArgumentException("x must hold n x features values.", nameof(x));
        }

        var counts = new int[classes];
        foreach (int label in y)
        {
            if (label < 0 || label >= classes)
            {
                throw new ArgumentOutOfRangeException(nameof(y), $"Label {label} is outside 0..{classes - 1}.");
            }

            counts[label]++;
        }

        if (counts.Any(c => c == 0))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, null, $"class {Array.IndexOf(counts, 0)} has no training examples.");
        }

        double[] classWeight = counts.Select(c => options.BalanceClasses ? n / (double)(classes * c) : 1.0).ToArray();
        (float[] mean, float[] scale) = Standardisation(x, n, features);
        float[] xs = Standardise(x, n, features, mean, scale);
        float[]? vs = valX is null ? null : Standardise(valX, valY!.Length, features, mean, scale);

        var w = new double[classes * features];
        var b = new double[classes];
        var adamW = new Adam(w.Length, options.LearningRate, options.L2);
        var adamB = new Adam(classes, options.LearningRate);
        var gW = new double[w.Length];
        var gB = new double[classes];
        var p = new double[classes];
        var random = new Random(options.Seed);
        int[] order = Enumerable.Range(0, n).ToArray();
        double bestLoss = double.PositiveInfinity;
        double[] bestW = (double[])w.Clone(), bestB = (double[])b.Clone();
        int sinceBest = 0;
        var log = new List<EpochLog>();
        for (int epoch = 1; epoch <= options.MaxEpochs; epoch++)
        {
            random.Shuffle(order);
            double trainLoss = 0, trainWeight = 0;
            for (int start = 0; start < n; start += options.BatchSize)
            {
                int end = Math.Min(n, start + options.BatchSize);
                Array.Clear(gW);
                Array.Clear(gB);
                double batchWeight = 0;
                for (int k = start; k < end; k++)
                {
                    int i = order[k];
                    ReadOnlySpan<float> xi = xs.AsSpan(i * features, features);
                    Probabilities(w, b, xi, p);
                    double weight = classWeight[y[i]];
                    batchWeight += weight;
                    trainLoss -= weight * Math.Log(Math.Max(p[y[i]], 1e-12));
                    for (int c = 0; c < classes; c++)
                    {
                        double d = weight * (p[c] - (c == y[i] ? 1 : 0));
                        gB[c] += d;
                        Span<double> g = gW.AsSpan(c * features, features);
                        for (int j = 0; j < features; j++)
                        {
                            g[j] += d * xi[j];
                        }
                    }
                }

                trainWeight += batchWeight;
                adamW.Step(w, gW, 1 / batchWeight);
                adamB.Step(b, gB, 1 / batchWeight);
            }

            double? valLoss = null, valAccuracy = null;
            double monitored = trainLoss / trainWeight;
            if (vs is not null && valY!.Length > 0)
            {
                (valLoss, valAccuracy) = Evaluate(w, b, vs, valY, features, classWeight);
                monitored = valLoss.Value;
            }

            var entry = new EpochLog(epoch, trainLoss / trainWeight, valLoss, valAccuracy);
            log.Add(entry);
            progress?.Invoke(entry);
            if (monitored < bestLoss - 1e-6)
            {
                bestLoss = monitored;
                Array.Copy(w, bestW, w.Length);
                Array.Copy(b, bestB, b.Length);
                sinceBest = 0;
            }
            else if (++sinceBest >= options.Patience)
            {
                break;
            }
        }

        return (Fold(bestW, bestB, mean, scale, classes, features), log);
    }

    private static (double Loss, double Accuracy) Evaluate(double[] w, double[] b, float[] x, int[] y, int features, double[] classWeight)
    {
        var p = new double[b.Length];
        double loss = 0, weight = 0;
        int correct = 0;
        for (int i = 0; i < y.Length; i++)
        {
            Probabilities(w, b, x.AsSpan(i * features, features), p);
            loss -= classWeight[y[i]] * Math.Log(Math.Max(p[y[i]], 1e-12));
            weight += classWeight[y[i]];
            int best = 0;
            for (int c = 1; c < p.Length; c++)
            {
                if (p[c] > p[best])
                {
                    best = c;
                }
            }

            correct += best == y[i] ? 1 : 0;
        }

        return (loss / weight, correct / (double)y.Length);
    }

    private static void Probabilities(double[] w, double[] b, ReadOnlySpan<float> x, double[] p)
    {
        int features = x.Length;
        for (int c = 0; c < b.Length; c++)
        {
            double z = b[c];
            ReadOnlySpan<double> wc = w.AsSpan(c * features, features);
            for (int j = 0; j < features; j++)
            {
                z += wc[j] * x[j];
            }

            p[c] = z;
        }

        SoftmaxModel.SoftmaxInPlace(p.AsSpan(0, b.Length));
    }

    private static (float[] Mean, float[] Scale) Standardisation(float[] x, int n, int features)
    {
        var mean = new double[features];
        var sq = new double[features];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < features; j++)
            {
                double v = x[i * features + j];
                mean[j] += v;
                sq[j] += v * v;
            }
        }

        var m = new float[features];
        var s = new float[features];
        for (int j = 0; j < features; j++)
        {
            double mu = mean[j] / n;
            double variance = Math.Max(0, sq[j] / n - mu * mu);
            m[j] = (float)mu;
            // A constant feature carries nothing; leave it unscaled rather than divide by zero.
            s[j] = variance > 1e-12 ? (float)Math.Sqrt(variance) : 1f;
        }

        return (m, s);
    }

    private static float[] Standardise(float[] x, int n, int features, float[] mean, float[] scale)
    {
        var result = new float[x.Length];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < features; j++)
            {
                result[i * features + j] = (x[i * features + j] - mean[j]) / scale[j];
            }
        }

        return result;
    }

    // W (x - mu) / s + b = (W / s) x + (b - sum_j W_j mu_j / s_j)
    private static SoftmaxModel Fold(double[] w, double[] b, float[] mean, float[] scale, int classes, int features)
    {
        var weights = new float[w.Length];
        var bias = new float[classes];
        for (int c = 0; c < classes; c++)
        {
            double shift = 0;
            for (int j = 0; j < features; j++)
            {
                double wj = w[c * features + j] / scale[j];
                weights[c * features + j] = (float)wj;
                shift += wj * mean[j];
            }

            bias[c] = (float)(b[c] - shift);
        }

        return new SoftmaxModel(classes, features, weights, bias);
    }
}
