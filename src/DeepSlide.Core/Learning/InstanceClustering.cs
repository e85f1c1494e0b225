namespace DeepSlide.Learning;

/// <summary>
/// CLAM's instance-level clustering (Lu et al., 2021), used in training only: a linear classifier per class on the
/// patch embeddings learns that the bag's most attended patches are its class's evidence and its least attended are
/// not, and that the most attended are not evidence of any other class. Its loss pulls the attention towards patches
/// that look like their class, which is the point on a slide where the class is a small focus. The selection by
/// attention is not differentiated; the loss flows into the embeddings and the classifiers.
/// </summary>
public sealed class InstanceClustering
{
    public InstanceClustering(int classes, int embedding, double weight, int mostPerBag, int seed)
    {
        Classes = classes;
        Embedding = embedding;
        Weight = weight;
        MostPerBag = mostPerBag;
        Parameters = new double[classes * (embedding + 1)];
        Gradient = new double[Parameters.Length];
        var random = new Random(seed);
        for (int c = 0; c < classes; c++)
        {
            AttentionMil.GlorotUniform(Parameters.AsSpan(c * (embedding + 1), embedding), 1, embedding, random);
        }
    }

    public int Classes { get; }

    public int Embedding { get; }

    /// <summary>The instance loss's weight beside the bag's cross-entropy.</summary>
    public double Weight { get; }

    /// <summary>Patches taken from each end of the attention ranking, at most; fewer on a small bag.</summary>
    public int MostPerBag { get; }

    /// <summary>Per class, <see cref="Embedding"/> weights then a bias.</summary>
    public double[] Parameters { get; }

    /// <summary>Where <see cref="LossAndGradient"/> adds the classifiers' gradient; the caller clears it.</summary>
    public double[] Gradient { get; }

    /// <summary>
    /// Patches taken from each end on a bag of <paramref name="n"/>: a twentieth of the bag, from 1 to
    /// <see cref="MostPerBag"/>, so that on a slide of 40 patches with a focus of 2 the "evidence" is the focus and not
    /// the benign patches CLAM's fixed 8 would add to it.
    /// </summary>
    public int PerBag(int n) => Math.Clamp((int)Math.Round(n / 20.0), 1, MostPerBag);

    /// <summary>The weighted instance loss of one bag; its gradient with respect to the embeddings goes to <paramref name="dEmbeddings"/>.</summary>
    public double LossAndGradient(double[] embeddings, double[] scores, int n, int label, double bagWeight, out double[] dEmbeddings)
    {
        int m = Embedding;
        dEmbeddings = new double[n * m];
        int take = PerBag(n);
        if (n < 2 * take)
        {
            return 0;
        }

        int[] ranked = Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();
        var targets = new List<(int Class, int Patch, double Target)>();
        for (int j = 0; j < take; j++)
        {
            targets.Add((label, ranked[j], 1));
            targets.Add((label, ranked[n - 1 - j], 0));
            for (int c = 0; c < Classes; c++)
            {
                if (c != label)
                {
                    targets.Add((c, ranked[j], 0));
                }
            }
        }

        // CLAM averages each classifier's loss over its patches and the classifiers' losses over the classes.
        double scale = Weight * bagWeight / Classes;
        double loss = 0;
        foreach ((int c, int i, double target) in targets)
        {
            int perClassifier = c == label ? 2 * take : take;
            int offset = c * (m + 1);
            double logit = Parameters[offset + m];
            for (int q = 0; q < m; q++)
            {
                logit += Parameters[offset + q] * embeddings[i * m + q];
            }

            double probability = 1 / (1 + Math.Exp(-logit));
            double w = scale / perClassifier;
            loss -= w * (target * LogSigmoid(logit) + (1 - target) * LogSigmoid(-logit));
            double dLogit = w * (probability - target);
            Gradient[offset + m] += dLogit;
            for (int q = 0; q < m; q++)
            {
                Gradient[offset + q] += dLogit * embeddings[i * m + q];
                dEmbeddings[i * m + q] += dLogit * Parameters[offset + q];
            }
        }

        return loss;
    }

    private static double LogSigmoid(double x) => x >= 0 ? -Math.Log(1 + Math.Exp(-x)) : x - Math.Log(1 + Math.Exp(x));
}
