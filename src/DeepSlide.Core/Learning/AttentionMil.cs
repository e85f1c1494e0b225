using System.Numerics;
using System.Runtime.InteropServices;

namespace DeepSlide.Learning;

/// <summary>
/// Gated-attention multiple-instance learning (Ilse et al., 2018) over a bag of patch features h_i:
/// e_i = ReLU(W_e h_i + b_e); a = softmax_i(w · (tanh(V e_i + b_v) ⊙ σ(U e_i + b_u)));
/// z = Σ a_i e_i; p = softmax(C z + c). All parameters live in one vector so one optimiser serves them all.
/// Inference runs here in plain C#: the network is a few matrix-vector products per patch on features the patch
/// classifier already computed, so an ONNX export would add a second model file for no speed.
/// </summary>
public sealed class AttentionMil
{
    private readonly int _we, _be, _v, _bv, _u, _bu, _w, _c, _bc;

    public AttentionMil(int features, int embedding, int attention, int classes, double[] parameters)
    {
        Features = features;
        Embedding = embedding;
        Attention = attention;
        Classes = classes;
        _we = 0;
        _be = _we + embedding * features;
        _v = _be + embedding;
        _bv = _v + attention * embedding;
        _u = _bv + attention;
        _bu = _u + attention * embedding;
        _w = _bu + attention;
        _c = _w + attention;
        _bc = _c + classes * embedding;
        if (parameters.Length != _bc + classes)
        {
            throw new ArgumentException($"Expected {_bc + classes} parameters, got {parameters.Length}.", nameof(parameters));
        }

        Parameters = parameters;
    }

    public int Features { get; }

    public int Embedding { get; }

    public int Attention { get; }

    public int Classes { get; }

    public double[] Parameters { get; }

    public static int ParameterCount(int features, int embedding, int attention, int classes) =>
        embedding * features + embedding + 2 * (attention * embedding + attention) + attention + classes * embedding + classes;

    /// <summary>Glorot-uniform weights and zero biases, from a seed.</summary>
    public static AttentionMil Create(int features, int classes, int embedding = 64, int attention = 32, int seed = 0)
    {
        var model = new AttentionMil(features, embedding, attention, classes, new double[ParameterCount(features, embedding, attention, classes)]);
        var random = new Random(seed);
        void Init(int offset, int rows, int columns) => GlorotUniform(model.Parameters.AsSpan(offset, rows * columns), rows, columns, random);

        Init(model._we, embedding, features);
        Init(model._v, attention, embedding);
        Init(model._u, attention, embedding);
        Init(model._w, 1, attention);
        Init(model._c, classes, embedding);
        return model;
    }

    /// <summary>Fills a rows x columns weight matrix from U(-limit, limit), limit = sqrt(6 / (rows + columns)).</summary>
    internal static void GlorotUniform(Span<double> weights, int rows, int columns, Random random)
    {
        double limit = Math.Sqrt(6.0 / (rows + columns));
        for (int i = 0; i < rows * columns; i++)
        {
            weights[i] = (random.NextDouble() * 2 - 1) * limit;
        }
    }

    /// <summary>Class probabilities for a bag of <paramref name="n"/> feature rows, and each patch's attention weight.</summary>
    public (double[] Probabilities, double[] Attention) Predict(ReadOnlySpan<float> bag, int n)
    {
        var state = new BagState(this, n);
        Forward(bag, n, state, dropoutMask: null);
        return (state.P, state.A);
    }

    /// <summary>
    /// Each patch's attention score before the softmax over the bag: it depends on the patch alone, so scores compare
    /// across slides, where the attention weights (their softmax) only rank patches within one slide.
    /// </summary>
    public double[] AttentionScores(ReadOnlySpan<float> patches, int n)
    {
        var state = new BagState(this, n);
        Forward(patches, n, state, dropoutMask: null);
        return state.Score;
    }

    /// <summary>
    /// Weighted cross-entropy of one bag and its gradient, added into <paramref name="gradient"/>. A dropout mask
    /// (n x embedding, each 0 or 1/(1-p)) applies to the embeddings when given.
    /// </summary>
    public double LossAndGradient(ReadOnlySpan<float> bag, int n, int label, double weight, double[] gradient, double[]? dropoutMask = null, InstanceClustering? instances = null)
    {
        var s = new BagState(this, n);
        Forward(bag, n, s, dropoutMask);
        double[] p = Parameters;
        int m = Embedding, l = Attention, k = Classes, d = Features;
        double[]? dInstance = null;
        double instanceLoss = instances?.LossAndGradient(s.E, s.Score, n, label, weight, out dInstance) ?? 0;

        var dLogits = new double[k];
        for (int j = 0; j < k; j++)
        {
            dLogits[j] = weight * (s.P[j] - (j == label ? 1 : 0));
            gradient[_bc + j] += dLogits[j];
            for (int q = 0; q < m; q++)
            {
                gradient[_c + j * m + q] += dLogits[j] * s.Z[q];
            }
        }

        var dz = new double[m];
        for (int q = 0; q < m; q++)
        {
            for (int j = 0; j < k; j++)
            {
                dz[q] += p[_c + j * m + q] * dLogits[j];
            }
        }

        var da = new double[n];
        double weighted = 0;
        for (int i = 0; i < n; i++)
        {
            da[i] = Dot(dz, s.E.AsSpan(i * m, m));
            weighted += s.A[i] * da[i];
        }

        var de = new double[m];
        var dPreG = new double[l];
        var dPreS = new double[l];
        for (int i = 0; i < n; i++)
        {
            double dScore = s.A[i] * (da[i] - weighted);
            ReadOnlySpan<double> e = s.E.AsSpan(i * m, m);
            for (int q = 0; q < m; q++)
            {
                de[q] = s.A[i] * dz[q] + (dInstance?[i * m + q] ?? 0);
            }

            for (int r = 0; r < l; r++)
            {
                double g = s.G[i * l + r], sg = s.S[i * l + r];
                gradient[_w + r] += dScore * g * sg;
                double du = dScore * p[_w + r];
                dPreG[r] = du * sg * (1 - g * g);
                dPreS[r] = du * g * sg * (1 - sg);
                gradient[_bv + r] += dPreG[r];
                gradient[_bu + r] += dPreS[r];
                Axpy(dPreG[r], e, gradient.AsSpan(_v + r * m, m));
                Axpy(dPreS[r], e, gradient.AsSpan(_u + r * m, m));
                Axpy(dPreG[r], p.AsSpan(_v + r * m, m), de);
                Axpy(dPreS[r], p.AsSpan(_u + r * m, m), de);
            }

            ReadOnlySpan<float> h = bag.Slice(i * d, d);
            for (int q = 0; q < m; q++)
            {
                double mask = dropoutMask?[i * m + q] ?? 1;
                double dPre = s.PreE[i * m + q] > 0 ? de[q] * mask : 0;
                if (dPre == 0)
                {
                    continue;
                }

                gradient[_be + q] += dPre;
                Axpy(dPre, h, gradient.AsSpan(_we + q * d, d));
            }
        }

        return -weight * Math.Log(Math.Max(s.P[label], 1e-12)) + instanceLoss;
    }

    public static double[] Softmax(ReadOnlySpan<double> values)
    {
        double[] result = values.ToArray();
        SoftmaxModel.SoftmaxInPlace(result.AsSpan());
        return result;
    }

    private void Forward(ReadOnlySpan<float> bag, int n, BagState s, double[]? dropoutMask)
    {
        if (bag.Length != n * Features)
        {
            throw new ArgumentException($"A bag of {n} patches needs {n * Features} feature values.", nameof(bag));
        }

        double[] p = Parameters;
        int m = Embedding, l = Attention, d = Features;
        var score = new double[n];
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> h = bag.Slice(i * d, d);
            for (int q = 0; q < m; q++)
            {
                double pre = p[_be + q] + Dot(p.AsSpan(_we + q * d, d), h);
                s.PreE[i * m + q] = pre;
                s.E[i * m + q] = Math.Max(0, pre) * (dropoutMask?[i * m + q] ?? 1);
            }

            ReadOnlySpan<double> e = s.E.AsSpan(i * m, m);
            double sc = 0;
            for (int r = 0; r < l; r++)
            {
                double g = Math.Tanh(p[_bv + r] + Dot(p.AsSpan(_v + r * m, m), e));
                double sg = 1 / (1 + Math.Exp(-(p[_bu + r] + Dot(p.AsSpan(_u + r * m, m), e))));
                s.G[i * l + r] = g;
                s.S[i * l + r] = sg;
                sc += p[_w + r] * g * sg;
            }

            score[i] = sc;
        }

        Array.Copy(score, s.Score, n);

        double[] a = Softmax(score);
        Array.Copy(a, s.A, n);
        for (int i = 0; i < n; i++)
        {
            Axpy(a[i], s.E.AsSpan(i * m, m), s.Z);
        }

        var logits = new double[Classes];
        for (int j = 0; j < Classes; j++)
        {
            logits[j] = p[_bc + j] + Dot(p.AsSpan(_c + j * m, m), s.Z);
        }

        Array.Copy(Softmax(logits), s.P, Classes);
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<double>.Count)
        {
            var acc = Vector<double>.Zero;
            ReadOnlySpan<Vector<double>> va = MemoryMarshal.Cast<double, Vector<double>>(a);
            ReadOnlySpan<Vector<double>> vb = MemoryMarshal.Cast<double, Vector<double>>(b);
            for (int k = 0; k < va.Length; k++)
            {
                acc += va[k] * vb[k];
            }

            sum = Vector.Sum(acc);
            i = va.Length * Vector<double>.Count;
        }

        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private static void Axpy(double alpha, ReadOnlySpan<double> x, Span<double> y)
    {
        for (int i = 0; i < x.Length; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    private static void Axpy(double alpha, ReadOnlySpan<float> x, Span<double> y)
    {
        for (int i = 0; i < x.Length; i++)
        {
            y[i] += alpha * x[i];
        }
    }

    private sealed class BagState(AttentionMil model, int n)
    {
        public double[] PreE { get; } = new double[n * model.Embedding];

        public double[] E { get; } = new double[n * model.Embedding];

        public double[] G { get; } = new double[n * model.Attention];

        public double[] S { get; } = new double[n * model.Attention];

        public double[] A { get; } = new double[n];

        public double[] Score { get; } = new double[n];

        public double[] Z { get; } = new double[model.Embedding];

        public double[] P { get; } = new double[model.Classes];
    }
}
