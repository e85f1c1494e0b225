namespace DeepSlide.Learning;

/// <summary>The Adam optimiser (Kingma and Ba, 2015) with L2 added to the gradient, for one parameter vector.</summary>
public sealed class Adam(int size, double learningRate, double l2 = 0)
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;
    private readonly double[] _m = new double[size];
    private readonly double[] _v = new double[size];
    private long _step;

    /// <summary>Moves <paramref name="parameters"/> against <paramref name="gradient"/> times <paramref name="scale"/>.</summary>
    public void Step(Span<double> parameters, ReadOnlySpan<double> gradient, double scale = 1)
    {
        if (parameters.Length != _m.Length || gradient.Length != _m.Length)
        {
            throw new ArgumentException($"The optimiser holds {_m.Length} parameters.");
        }

        _step++;
        double lr = learningRate * Math.Sqrt(1 - Math.Pow(Beta2, _step)) / (1 - Math.Pow(Beta1, _step));
        for (int k = 0; k < parameters.Length; k++)
        {
            double g = gradient[k] * scale + l2 * parameters[k];
            _m[k] = Beta1 * _m[k] + (1 - Beta1) * g;
            _v[k] = Beta2 * _v[k] + (1 - Beta2) * g * g;
            parameters[k] -= lr * _m[k] / (Math.Sqrt(_v[k]) + Epsilon);
        }
    }
}
