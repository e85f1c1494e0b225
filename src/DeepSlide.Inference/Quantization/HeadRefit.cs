using DeepSlide.Learning;

namespace DeepSlide.Inference.Quantization;

/// <summary>
/// Re-fits the float head of an int8 model to the features its int8 backbone gives: the new head maps the int8
/// features of sample patches to the FP32 model's logits on the same patches (least squares, pulled towards the
/// FP32 head so that a few hundred patches cannot over-fit 513 weights a class). The int8 backbone's rounding error is
/// partly systematic (a shifted or scaled feature), and a head fitted to the FP32 features cannot know it; the target
/// is FP32's output, not the labels, because the int8 model should make FP32's calls, not better or other ones.
/// </summary>
public static class HeadRefit
{
    /// <summary>The ridge weight, as a share of the mean diagonal of the features' Gram matrix.</summary>
    public const double DefaultRidge = 0.5;

    /// <param name="head">The FP32 model's head.</param>
    /// <param name="sourceFeatures">The FP32 backbone's features of the sample patches, row by row.</param>
    /// <param name="quantizedFeatures">The int8 backbone's features of the same patches.</param>
    public static SoftmaxModel Fit(SoftmaxModel head, ReadOnlySpan<float> sourceFeatures, ReadOnlySpan<float> quantizedFeatures, double ridge = DefaultRidge)
    {
        int f = head.Features, c = head.Classes, d = f + 1;
        if (sourceFeatures.Length != quantizedFeatures.Length || sourceFeatures.Length % f != 0 || sourceFeatures.Length == 0)
        {
            throw new ArgumentException($"Both feature sets must hold the same whole number of {f}-feature rows.", nameof(quantizedFeatures));
        }

        int n = sourceFeatures.Length / f;
        var gram = new double[d * d];
        var right = new double[d * c];
        var row = new double[d];
        var target = new float[c];
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> quantized = quantizedFeatures.Slice(i * f, f);
            head.Logits(sourceFeatures.Slice(i * f, f), target);

            for (int j = 0; j < f; j++)
            {
                row[j] = quantized[j];
            }

            row[f] = 1;
            for (int a = 0; a < d; a++)
            {
                double ra = row[a];
                if (ra == 0)
                {
                    continue;
                }

                Span<double> g = gram.AsSpan(a * d, d);
                for (int b = a; b < d; b++)
                {
                    g[b] += ra * row[b];
                }

                for (int k = 0; k < c; k++)
                {
                    right[a * c + k] += ra * target[k];
                }
            }
        }

        double meanDiagonal = 0;
        for (int a = 0; a < d; a++)
        {
            meanDiagonal += gram[a * d + a];
        }

        double lambda = Math.Max(ridge * meanDiagonal / d, 1e-9);
        for (int a = 0; a < d; a++)
        {
            for (int b = 0; b < a; b++)
            {
                gram[a * d + b] = gram[b * d + a];
            }

            gram[a * d + a] += lambda;
            for (int k = 0; k < c; k++)
            {
                right[a * c + k] += lambda * (a < f ? head.Weights[k * f + a] : head.Bias[k]);
            }
        }

        double[] solution = CholeskySolve(gram, right, d, c);
        var weights = new float[c * f];
        var bias = new float[c];
        for (int k = 0; k < c; k++)
        {
            for (int j = 0; j < f; j++)
            {
                weights[k * f + j] = (float)solution[j * c + k];
            }

            bias[k] = (float)solution[f * c + k];
        }

        return new SoftmaxModel(c, f, weights, bias);
    }

    // Solves A X = B for a symmetric positive definite A (d x d) and B (d x c), both row-major; A is overwritten.
    private static double[] CholeskySolve(double[] a, double[] b, int d, int c)
    {
        for (int j = 0; j < d; j++)
        {
            double sum = a[j * d + j];
            for (int k = 0; k < j; k++)
            {
                sum -= a[j * d + k] * a[j * d + k];
            }

            if (sum <= 0)
            {
                throw new InvalidOperationException("The features' Gram matrix is not positive definite.");
            }

            double diagonal = Math.Sqrt(sum);
            a[j * d + j] = diagonal;
            for (int i = j + 1; i < d; i++)
            {
                double s = a[i * d + j];
                for (int k = 0; k < j; k++)
                {
                    s -= a[i * d + k] * a[j * d + k];
                }

                a[i * d + j] = s / diagonal;
            }
        }

        var x = (double[])b.Clone();
        for (int k = 0; k < c; k++)
        {
            for (int i = 0; i < d; i++)
            {
                double s = x[i * c + k];
                for (int j = 0; j < i; j++)
                {
                    s -= a[i * d + j] * x[j * c + k];
                }

                x[i * c + k] = s / a[i * d + i];
            }

            for (int i = d - 1; i >= 0; i--)
            {
                double s = x[i * c + k];
                for (int j = i + 1; j < d; j++)
                {
                    s -= a[j * d + i] * x[j * c + k];
                }

                x[i * c + k] = s / a[i * d + i];
            }
        }

        return x;
    }
}
