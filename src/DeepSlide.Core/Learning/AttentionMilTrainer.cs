namespace DeepSlide.Learning;

/// <summary>One slide as MIL sees it: <see cref="Count"/> rows of patch features and the slide's class.</summary>
public sealed record FeatureBag(string Slide, float[] Features, int Count, int Label);

public sealed record AttentionMilOptions
{
    public int Embedding { get; init; } = 64;

    public int Attention { get; init; } = 32;

    public double LearningRate { get; init; } = 1e-3;

    public double L2 { get; init; } = 1e-4;

    public double Dropout { get; init; } = 0.25;

    public int MaxEpochs { get; init; } = 60;

    public int Patience { get; init; } = 12;

    /// <summary>Bags larger than this are subsampled, afresh each epoch, during training.</summary>
    public int MaxPatchesPerBag { get; init; } = 256;

    public int Seed { get; init; }

    /// <summary>
    /// The weight of CLAM's instance-level clustering loss beside the bag's (0: none); see <see cref="InstanceClustering"/>.
    /// 1 was measured against 0 over 8 seeds on two held-out sparse sets (README).
    /// </summary>
    public double InstanceLoss { get; init; } = 1;

    /// <summary>Patches taken from each end of the attention ranking for the instance loss, at most.</summary>
    public int InstancesPerBag { get; init; } = 8;
}

public sealed record MilEpochLog(int Epoch, double TrainLoss, double? ValLoss, double? ValBalancedAccuracy);

/// <summary>
/// Trains <see cref="AttentionMil"/> on slide labels alone: class-weighted cross-entropy, dropout on the
/// embeddings, Adam with L2, early stopping on validation bags, every random choice drawn from one seed.
/// </summary>
public static class AttentionMilTrainer
{
    public static (AttentionMil Model, IReadOnlyList<MilEpochLog> Log) Train(
        IReadOnlyList<FeatureBag> train, IReadOnlyList<FeatureBag> val, int features, int classes, AttentionMilOptions? options = null, Action<MilEpochLog>? progress = null)
    {
        options ??= new AttentionMilOptions();
        var counts = new int[classes];
        foreach (FeatureBag bag in train)
        {
            if (bag.Count == 0)
            {
                throw new DeepSlideException(DeepSlideErrorReason.NoTissue, bag.Slide, "its bag is empty (no tissue patches); leave it out of training.");
            }

            counts[bag.Label]++;
        }

        int missing = Array.IndexOf(counts, 0);
        if (missing >= 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, null, $"class {missing} has no training slides; attention MIL needs slides of every class.");
        }

        double[] classWeight = counts.Select(c => train.Count / (double)(classes * c)).ToArray();
        AttentionMil model = AttentionMil.Create(features, classes, options.Embedding, options.Attention, options.Seed);
        var random = new Random(options.Seed);
        double[] parameters = model.Parameters;
        var adam = new Adam(parameters.Length, options.LearningRate, options.L2);
        InstanceClustering? instances = options.InstanceLoss > 0
            ? new InstanceClustering(classes, options.Embedding, options.InstanceLoss, options.InstancesPerBag, options.Seed + 1)
            : null;
        var instanceAdam = instances is null ? null : new Adam(instances.Parameters.Length, options.LearningRate, options.L2);
        var gradient = new double[parameters.Length];
        double[] best = (double[])parameters.Clone();
        double bestLoss = double.PositiveInfinity;
        int sinceBest = 0;
        var log = new List<MilEpochLog>();
        int[] order = Enumerable.Range(0, train.Count).ToArray();
        for (int epoch = 1; epoch <= options.MaxEpochs; epoch++)
        {
            random.Shuffle(order);
            double trainLoss = 0;
            foreach (int b in order)
            {
                FeatureBag bag = train[b];
                (float[] x, int n) = Sample(bag, options.MaxPatchesPerBag, features, random);
                double[] mask = DropoutMask(n * options.Embedding, options.Dropout, random);
                Array.Clear(gradient);
                if (instances is not null)
                {
                    Array.Clear(instances.Gradient);
                }

                trainLoss += model.LossAndGradient(x, n, bag.Label, classWeight[bag.Label], gradient, mask, instances);
                adam.Step(parameters, gradient);
                instanceAdam?.Step(instances!.Parameters, instances.Gradient);
            }

            double? valLoss = null, valBalanced = null;
            double monitored = trainLoss / train.Count;
            if (val.Count > 0)
            {
                (valLoss, valBalanced) = Evaluate(model, val, classWeight);
                monitored = valLoss.Value;
            }

            var entry = new MilEpochLog(epoch, trainLoss / train.Count, valLoss, valBalanced);
            log.Add(entry);
            progress?.Invoke(entry);
            if (monitored < bestLoss - 1e-6)
            {
                bestLoss = monitored;
                Array.Copy(parameters, best, best.Length);
                sinceBest = 0;
            }
            else if (++sinceBest >= options.Patience)
            {
                break;
            }
        }

        Array.Copy(best, parameters, best.Length);
        return (model, log);
    }

    private static (double Loss, double BalancedAccuracy) Evaluate(AttentionMil model, IReadOnlyList<FeatureBag> bags, double[] classWeight)
    {
        double loss = 0, weight = 0;
        var truths = new List<int>();
        var calls = new List<int?>();
        foreach (FeatureBag bag in bags.Where(b => b.Count > 0))
        {
            (double[] p, _) = model.Predict(bag.Features, bag.Count);
            loss -= classWeight[bag.Label] * Math.Log(Math.Max(p[bag.Label], 1e-12));
            weight += classWeight[bag.Label];
            truths.Add(bag.Label);
            calls.Add(Array.IndexOf(p, p.Max()));
        }

        return (loss / weight, Aggregation.SlideMetrics.BalancedAccuracy(truths, calls));
    }

    private static (float[] X, int N) Sample(FeatureBag bag, int max, int features, Random random)
    {
        if (bag.Count <= max)
        {
            return (bag.Features, bag.Count);
        }

        int[] pick = Enumerable.Range(0, bag.Count).ToArray();
        random.Shuffle(pick);
        var x = new float[max * features];
        for (int i = 0; i < max; i++)
        {
            bag.Features.AsSpan(pick[i] * features, features).CopyTo(x.AsSpan(i * features));
        }

        return (x, max);
    }

    private static double[] DropoutMask(int length, double rate, Random random)
    {
        var mask = new double[length];
        double keep = 1 / (1 - rate);
        for (int i = 0; i < length; i++)
        {
            mask[i] = random.NextDouble() < rate ? 0 : keep;
        }

        return mask;
    }
}
