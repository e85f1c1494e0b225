namespace DeepSlide.Stain;

/// <summary>
/// Macenko et al. (2009): estimate the haematoxylin and eosin optical-density vectors from the plane of the two
/// largest principal components of tissue pixels, then rescale each stain's concentration to the target's.
/// Target: the H vector, the E vector (unit optical densities, RGB) and the 99th percentile concentration of each.
/// </summary>
public sealed class MacenkoNormalizer : StainNormalizer
{
    private const double Beta = 0.15;
    private const double Alpha = 1;
    private readonly double[] _stains;
    private readonly double[] _maxConcentration;

    private MacenkoNormalizer(double[] stains, double[] maxConcentration)
    {
        _stains = stains;
        _maxConcentration = maxConcentration;
    }

    public override string Method => "macenko";

    public override IReadOnlyList<double> Target => [.. _stains, .. _maxConcentration];

    public IReadOnlyList<double> Haematoxylin => _stains[..3];

    public IReadOnlyList<double> Eosin => _stains[3..];

    public static MacenkoNormalizer Fit(ReadOnlySpan<byte> rgb)
    {
        double[] stains = EstimateStains(rgb) ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, "too little stained tissue to estimate stain vectors.");
        double[] max = MaxConcentrations(rgb, stains);
        return new MacenkoNormalizer(stains, max);
    }

    public static MacenkoNormalizer FromTarget(IReadOnlyList<double> target)
    {
        if (target.Count != 8 || !(target[6] > 0) || !(target[7] > 0))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, null, "Macenko's target is two 3-vectors and two positive concentrations.");
        }

        return new MacenkoNormalizer([.. target.Take(6)], [target[6], target[7]]);
    }

    public override void Apply(Span<byte> rgb)
    {
        double[]? source = EstimateStains(rgb);
        if (source is null)
        {
            return; // background or too little tissue: nothing to normalise
        }

        double[] sourceMax = MaxConcentrations(rgb, source);
        double[,] inverse = PseudoInverse(source);
        Span<double> od = stackalloc double[3];
        for (int i = 0; i + 2 < rgb.Length; i += 3)
        {
            for (int c = 0; c < 3; c++)
            {
                od[c] = -Math.Log((rgb[i + c] + 1) / 256.0);
            }

            double h = inverse[0, 0] * od[0] + inverse[0, 1] * od[1] + inverse[0, 2] * od[2];
            double e = inverse[1, 0] * od[0] + inverse[1, 1] * od[1] + inverse[1, 2] * od[2];
            h *= _maxConcentration[0] / Math.Max(sourceMax[0], 1e-6);
            e *= _maxConcentration[1] / Math.Max(sourceMax[1], 1e-6);
            for (int c = 0; c < 3; c++)
            {
                double value = 256 * Math.Exp(-(_stains[c] * h + _stains[3 + c] * e)) - 1;
                rgb[i + c] = (byte)Math.Clamp((int)Math.Round(value), 0, 255);
            }
        }
    }

    /// <summary>The H and E unit optical-density vectors (H first: the one with more red absorbance), or null.</summary>
    internal static double[]? EstimateStains(ReadOnlySpan<byte> rgb)
    {
        var tissue = new List<(double, double, double)>();
        for (int i = 0; i + 2 < rgb.Length; i += 3)
        {
            double r = -Math.Log((rgb[i] + 1) / 256.0), g = -Math.Log((rgb[i + 1] + 1) / 256.0), b = -Math.Log((rgb[i + 2] + 1) / 256.0);
            if (r > Beta && g > Beta && b > Beta)
            {
                tissue.Add((r, g, b));
            }
        }

        if (tissue.Count < 30)
        {
            return null;
        }

        var covariance = new double[3, 3];
        double mr = tissue.Average(t => t.Item1), mg = tissue.Average(t => t.Item2), mb = tissue.Average(t => t.Item3);
        foreach ((double r, double g, double b) in tissue)
        {
            double[] d = [r - mr, g - mg, b - mb];
            for (int p = 0; p < 3; p++)
            {
                for (int q = 0; q < 3; q++)
                {
                    covariance[p, q] += d[p] * d[q] / tissue.Count;
                }
            }
        }

        (double[] v1, double[] v2) = TopTwoEigenvectors(covariance);
        var angles = tissue.Select(t => Math.Atan2(Dot(t, v2), Dot(t, v1))).Order().ToArray();
        double low = angles[(int)(Alpha / 100 * (angles.Length - 1))];
        double high = angles[(int)((100 - Alpha) / 100 * (angles.Length - 1))];
        double[] a = Normalise([v1[0] * Math.Cos(low) + v2[0] * Math.Sin(low), v1[1] * Math.Cos(low) + v2[1] * Math.Sin(low), v1[2] * Math.Cos(low) + v2[2] * Math.Sin(low)]);
        double[] b2 = Normalise([v1[0] * Math.Cos(high) + v2[0] * Math.Sin(high), v1[1] * Math.Cos(high) + v2[1] * Math.Sin(high), v1[2] * Math.Cos(high) + v2[2] * Math.Sin(high)]);
        return a[0] > b2[0] ? [.. a, .. b2] : [.. b2, .. a];
    }

    private static double[] MaxConcentrations(ReadOnlySpan<byte> rgb, double[] stains)
    {
        double[,] inverse = PseudoInverse(stains);
        var h = new List<double>();
        var e = new List<double>();
        for (int i = 0; i + 2 < rgb.Length; i += 3)
        {
            double r = -Math.Log((rgb[i] + 1) / 256.0), g = -Math.Log((rgb[i + 1] + 1) / 256.0), b = -Math.Log((rgb[i + 2] + 1) / 256.0);
            h.Add(inverse[0, 0] * r + inverse[0, 1] * g + inverse[0, 2] * b);
            e.Add(inverse[1, 0] * r + inverse[1, 1] * g + inverse[1, 2] * b);
        }

        h.Sort();
        e.Sort();
        return [h[(int)(0.99 * (h.Count - 1))], e[(int)(0.99 * (e.Count - 1))]];
    }

    // (S^T S)^-1 S^T for the 3x2 stain matrix S whose columns are H and E.
    private static double[,] PseudoInverse(double[] s)
    {
        double hh = s[0] * s[0] + s[1] * s[1] + s[2] * s[2];
        double ee = s[3] * s[3] + s[4] * s[4] + s[5] * s[5];
        double he = s[0] * s[3] + s[1] * s[4] + s[2] * s[5];
        double det = hh * ee - he * he;
        var p = new double[2, 3];
        for (int c = 0; c < 3; c++)
        {
            p[0, c] = (ee * s[c] - he * s[3 + c]) / det;
            p[1, c] = (-he * s[c] + hh * s[3 + c]) / det;
        }

        return p;
    }

    // Jacobi rotations on a symmetric 3x3 matrix; returns the eigenvectors of the two largest eigenvalues.
    private static (double[] First, double[] Second) TopTwoEigenvectors(double[,] m)
    {
        var a = (double[,])m.Clone();
        var v = new double[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } };
        for (int sweep = 0; sweep < 50; sweep++)
        {
            for (int p = 0; p < 2; p++)
            {
                for (int q = p + 1; q < 3; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-15)
                    {
                        continue;
                    }

                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < 3; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }

                    for (int k = 0; k < 3; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }

                    for (int k = 0; k < 3; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
            }
        }

        int[] order = [.. Enumerable.Range(0, 3).OrderByDescending(i => a[i, i])];
        double[] Column(int j)
        {
            double[] col = [v[0, j], v[1, j], v[2, j]];
            // Optical densities are positive; orient each vector so its components mostly are.
            return col.Sum() < 0 ? col.Select(x => -x).ToArray() : col;
        }

        return (Column(order[0]), Column(order[1]));
    }

    private static double Dot((double, double, double) t, double[] v) => t.Item1 * v[0] + t.Item2 * v[1] + t.Item3 * v[2];

    private static double[] Normalise(double[] v)
    {
        double n = Math.Sqrt(v.Sum(x => x * x));
        return v.Select(x => x / n).ToArray();
    }
}
