namespace DeepSlide.Stain;

/// <summary>
/// Reinhard et al. (2001): match the mean and standard deviation of each channel in the decorrelated lαβ space.
/// Target: the three means, then the three standard deviations.
/// </summary>
public sealed class ReinhardNormalizer : StainNormalizer
{
    private readonly double[] _mean;
    private readonly double[] _std;

    private ReinhardNormalizer(double[] mean, double[] std)
    {
        _mean = mean;
        _std = std;
    }

    public override string Method => "reinhard";

    public override IReadOnlyList<double> Target => [.. _mean, .. _std];

    public static ReinhardNormalizer Fit(ReadOnlySpan<byte> rgb)
    {
        (double[] mean, double[] std) = Statistics(rgb);
        return new ReinhardNormalizer(mean, std);
    }

    public static ReinhardNormalizer FromTarget(IReadOnlyList<double> target)
    {
        if (target.Count != 6 || target.Skip(3).Any(s => !(s > 0)))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, null, "Reinhard's target is three means and three positive standard deviations.");
        }

        return new ReinhardNormalizer([target[0], target[1], target[2]], [target[3], target[4], target[5]]);
    }

    public override void Apply(Span<byte> rgb)
    {
        (double[] mean, double[] std) = Statistics(rgb);
        Span<double> lab = stackalloc double[3];
        for (int i = 0; i + 2 < rgb.Length; i += 3)
        {
            ToLab(rgb[i], rgb[i + 1], rgb[i + 2], lab);
            for (int c = 0; c < 3; c++)
            {
                lab[c] = (lab[c] - mean[c]) / (std[c] > 1e-6 ? std[c] : 1) * _std[c] + _mean[c];
            }

            (rgb[i], rgb[i + 1], rgb[i + 2]) = FromLab(lab);
        }
    }

    public static (double[] Mean, double[] Std) Statistics(ReadOnlySpan<byte> rgb)
    {
        var sum = new double[3];
        var squares = new double[3];
        Span<double> lab = stackalloc double[3];
        int n = rgb.Length / 3;
        for (int i = 0; i + 2 < rgb.Length; i += 3)
        {
            ToLab(rgb[i], rgb[i + 1], rgb[i + 2], lab);
            for (int c = 0; c < 3; c++)
            {
                sum[c] += lab[c];
                squares[c] += lab[c] * lab[c];
            }
        }

        var mean = new double[3];
        var std = new double[3];
        for (int c = 0; c < 3; c++)
        {
            mean[c] = sum[c] / n;
            std[c] = Math.Sqrt(Math.Max(0, squares[c] / n - mean[c] * mean[c]));
        }

        return (mean, std);
    }

    // RGB -> LMS -> log10 -> lαβ (Ruderman et al.), and back. +1 keeps black pixels finite.
    internal static void ToLab(double r, double g, double b, Span<double> lab)
    {
        double l = Math.Log10(0.3811 * r + 0.5783 * g + 0.0402 * b + 1);
        double m = Math.Log10(0.1967 * r + 0.7244 * g + 0.0782 * b + 1);
        double s = Math.Log10(0.0241 * r + 0.1288 * g + 0.8444 * b + 1);
        lab[0] = (l + m + s) / Math.Sqrt(3);
        lab[1] = (l + m - 2 * s) / Math.Sqrt(6);
        lab[2] = (l - m) / Math.Sqrt(2);
    }

    internal static (byte R, byte G, byte B) FromLab(ReadOnlySpan<double> lab)
    {
        double a = lab[0] / Math.Sqrt(3), b = lab[1] / Math.Sqrt(6), c = lab[2] / Math.Sqrt(2);
        double l = Math.Pow(10, a + b + c) - 1, m = Math.Pow(10, a + b - c) - 1, s = Math.Pow(10, a - 2 * b) - 1;
        double r = 4.4679 * l - 3.5873 * m + 0.1193 * s;
        double g = -1.2186 * l + 2.3809 * m - 0.1624 * s;
        double bl = 0.0497 * l - 0.2439 * m + 1.2045 * s;
        return (Clamp(r), Clamp(g), Clamp(bl));
    }

    private static byte Clamp(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);
}
