using System.Diagnostics;
using System.Globalization;
using DeepSlide.Datasets;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using DeepSlide.Slides;
using DeepSlide.Stain;
using Google.Protobuf;

namespace DeepSlide.Training;

public sealed record TrainingOptions
{
    /// <summary>Augmented views per training patch, besides the patch itself.</summary>
    public int AugmentedViews { get; init; } = 1;

    public SoftmaxTrainingOptions Head { get; init; } = new();

    public InferenceOptions Inference { get; init; } = new();

    public int Seed { get; init; }

    /// <summary>none, reinhard or macenko: fitted on training patches, applied to every patch here and at inference.</summary>
    public string Stain { get; init; } = "none";
}

public sealed record TrainingResult(ModelBundle Bundle, IReadOnlyList<EpochLog> Log, int TrainViews, int ValPatches, double? ValAccuracy, TimeSpan Elapsed, string ExecutionProvider);

/// <summary>
/// DeepSlide's patch classifier, trained on one machine: ResNet-18 features of augmented training patches, a
/// class-weighted softmax head with early stopping on validation patches, exported as one ONNX model.
/// </summary>
public sealed class PatchClassifierTrainer(TrainingOptions options)
{
    public TrainingResult Train(string patchRoot, string bundleFolder, Action<string>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        PatchFolders data = PatchFolders.Scan(patchRoot);
        using var featurizer = new BackboneFeaturizer(options.Inference);
        progress?.Invoke($"classes {string.Join(", ", data.Classes)}; {data.Train.Count} training and {data.Val.Count} validation patches; backbone on {featurizer.ExecutionProvider}");

        var random = new Random(options.Seed);
        byte[][] trainDecoded = Decode(data.Train);
        byte[][] valDecoded = Decode(data.Val);
        StainNormalizer? stain = FitStain(options.Stain, trainDecoded);
        if (stain is not null)
        {
            Parallel.ForEach(trainDecoded.Concat(valDecoded), p => stain.Apply(p));
            progress?.Invoke($"stain normalisation: {stain.Method}, fitted on the training patches");
        }

        (List<byte[]> trainPatches, List<int> trainLabels) = Expand(trainDecoded, data.Train, options.AugmentedViews, random);
        (List<byte[]> valPatches, List<int> valLabels) = Expand(valDecoded, data.Val, 0, random);
        float[] trainX = featurizer.Extract(trainPatches, done => Report(progress, "train features", done, trainPatches.Count));
        float[] valX = featurizer.Extract(valPatches, done => Report(progress, "val features", done, valPatches.Count));

        (SoftmaxModel head, IReadOnlyList<EpochLog> log) = SoftmaxRegression.Train(
            trainX, [.. trainLabels], ResNetBackbone.FeatureCount, data.Classes.Count,
            valPatches.Count > 0 ? valX : null, valPatches.Count > 0 ? [.. valLabels] : null,
            options.Head with { Seed = options.Seed },
            e => progress?.Invoke(string.Create(CultureInfo.InvariantCulture, $"epoch {e.Epoch,3}  train loss {e.TrainLoss:0.0000}  val loss {e.ValLoss:0.0000}  val accuracy {e.ValAccuracy:P1}")));

        byte[] onnx = ClassifierGraph.Build(featurizer.Model, head).ToByteArray();
        EpochLog best = log.Where(e => e.ValLoss is not null).OrderBy(e => e.ValLoss).FirstOrDefault() ?? log[^1];
        PatchTiling tiling = PatchTiling.Read(patchRoot);
        var manifest = new ModelManifest
        {
            Classes = data.Classes,
            ClassColours = tiling.Colours,
            Input = new ModelInput { Name = ResNetBackbone.InputName, Size = ResNetBackbone.InputSize, ChannelOrder = "RGB", PixelScale = 1, Mean = [0, 0, 0], Std = [1, 1, 1] },
            Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, IsSoftmax = true, Features = ResNetBackbone.FeaturesName, FeatureMap = ClassifierGraph.FeatureMapName },
            Patch = PatchSpecOf(tiling),
            Stain = stain is null ? new StainSpec() : new StainSpec { Method = stain.Method, Target = stain.Target },
            Aggregation = new AggregationSpec { NormalClass = data.Classes.Contains("benign") ? "benign" : null },
            Training = new TrainingProvenance
            {
                Backbone = ResNetBackbone.Name,
                CreatedUtc = DateTimeOffset.UtcNow,
                Data = Path.GetFullPath(patchRoot),
                TrainPatches = data.Train.Count,
                ValPatches = data.Val.Count,
                Epochs = log.Count,
                Seed = options.Seed,
                ValAccuracy = best.ValAccuracy,
                Labels = tiling.Labels,
            },
        };
        ModelBundle bundle = ModelBundle.Save(bundleFolder, manifest, onnx);
        var rows = new List<PatchFeatureRow>(trainPatches.Count + valPatches.Count);
        rows.AddRange(Rows(data.Train, 1 + options.AugmentedViews, val: false, patchRoot));
        rows.AddRange(Rows(data.Val, 1, val: true, patchRoot));
        new PatchFeatureCache(rows, [.. trainX, .. valX], ResNetBackbone.FeatureCount).Write(bundleFolder);
        File.WriteAllLines(
            Path.Combine(bundleFolder, "training-log.csv"),
            ["epoch,train_loss,val_loss,val_accuracy", .. log.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Epoch},{e.TrainLoss:0.######},{e.ValLoss:0.######},{e.ValAccuracy:0.####}"))]);
        return new TrainingResult(bundle, log, trainPatches.Count, valPatches.Count, best.ValAccuracy, watch.Elapsed, featurizer.ExecutionProvider);
    }

    // The resolution and tissue filter the patches were cut with (tiling.json from 'tiles') are the model's.
    private static PatchSpec PatchSpecOf(PatchTiling tiling)
    {
        if (tiling.Window != ResNetBackbone.InputSize)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, PatchTiling.FileName, $"the patches were cut {tiling.Window} px wide; the ResNet backbone takes {ResNetBackbone.InputSize}.");
        }

        return new PatchSpec { Window = tiling.Window, Level = tiling.Level, Mpp = tiling.Mpp, Magnification = tiling.Magnification, Tissue = tiling.TissueMethod };
    }

    private static byte[][] Decode(IReadOnlyList<(string File, int Label)> files)
    {
        var decoded = new byte[files.Count][];
        Parallel.For(0, files.Count, i =>
        {
            Imaging.RgbImage image = ImageFiles.Load(files[i].File);
            if (image.Width != ResNetBackbone.InputSize || image.Height != ResNetBackbone.InputSize)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, files[i].File, $"the patch is {image.Width}x{image.Height}; {ResNetBackbone.InputSize}x{ResNetBackbone.InputSize} is needed.");
            }

            decoded[i] = image.Pixels;
        });
        return decoded;
    }

    // The target is fitted on up to 64 training patches spread over the set, as one image.
    private static StainNormalizer? FitStain(string method, byte[][] patches)
    {
        if (method is "none" or "")
        {
            return null;
        }

        int step = Math.Max(1, patches.Length / 64);
        byte[] sample = patches.Where((_, i) => i % step == 0).Take(64).SelectMany(p => p).ToArray();
        return StainNormalizer.Fit(method, sample);
    }

    private static (List<byte[]> Patches, List<int> Labels) Expand(byte[][] decoded, IReadOnlyList<(string File, int Label)> files, int augmentedViews, Random random)
    {
        var patches = new List<byte[]>(files.Count * (1 + augmentedViews));
        var labels = new List<int>(patches.Capacity);
        for (int i = 0; i < files.Count; i++)
        {
            patches.Add(decoded[i]);
            labels.Add(files[i].Label);
            for (int v = 0; v < augmentedViews; v++)
            {
                var view = new byte[decoded[i].Length];
                Augmentation.Dihedral(decoded[i], view, ResNetBackbone.InputSize, 1 + random.Next(7));
                Augmentation.ColorJitter(view, random);
                patches.Add(view);
                labels.Add(files[i].Label);
            }
        }

        return (patches, labels);
    }

    // The rows in the order Expand lays the views out: each file, then its augmented views.
    private static IEnumerable<PatchFeatureRow> Rows(IReadOnlyList<(string File, int Label)> files, int views, bool val, string root) =>
        files.SelectMany(f => Enumerable.Range(0, views).Select(v => new PatchFeatureRow(Path.GetRelativePath(root, f.File), val, v, f.Label)));

    private static void Report(Action<string>? progress, string what, int done, int total)
    {
        if (progress is not null && (done == total || done % 256 < 16))
        {
            progress($"{what}: {done}/{total}");
        }
    }
}
