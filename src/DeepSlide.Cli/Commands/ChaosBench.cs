using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline.Local;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using Google.Protobuf;

namespace DeepSlide.Cli.Commands;

/// <summary>
/// <c>deepslide bench --chaos N</c>: N uploads to a local stack under faults (<see cref="LocalChaos"/>), with a
/// seeded random-head ResNet-18 bundle (with attention MIL, so features travel too) and three synthetic slides.
/// Exits 0 only when no run is stuck, every completed run's labels equal <c>classify</c>'s and every failed run says why.
/// </summary>
internal static class ChaosBench
{
    public static async Task<int> RunAsync(string work, string state, int uploads, ChaosFault[]? faults, int seed, CancellationToken cancellationToken)
    {
        string slides = Path.Combine(work, "chaos-slides");
        Directory.CreateDirectory(slides);
        string[] paths =
        [
            .. new[] { ("adenocarcinoma", 2600, 1900), ("benign", 2200, 1700), ("squamous", 3000, 2000) }.Select((s, i) =>
            {
                string path = Path.Combine(slides, string.Create(CultureInfo.InvariantCulture, $"{s.Item1}-{s.Item2}x{s.Item3}.svs"));
                if (!File.Exists(path))
                {
                    SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec(s.Item1, s.Item2, s.Item3, 40 + i)), path, SyntheticFormat.Aperio);
                }

                return path;
            }),
        ];
        string model = RandomHeadBundle(Path.Combine(work, "chaos-model"));
        if (Directory.Exists(state))
        {
            foreach (string entry in Directory.EnumerateFileSystemEntries(state))
            {
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
            }
        }

        var settings = new ChaosSettings
        {
            Uploads = uploads,
            Slides = paths,
            WorkerCommand = [.. BenchCommand.Self(), "local", "worker"],
            Faults = faults ?? [],
            RandomFaults = faults is not { Length: > 0 },
            Seed = seed,
        };
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores; {uploads} uploads every {settings.UploadEvery.TotalSeconds:0} s to a local stack in {Path.GetFullPath(state)} with {settings.Workers} worker processes; faults {(settings.RandomFaults ? $"at random (seed {seed})" : string.Join(", ", settings.Faults))}");
        ChaosReport report = await LocalChaos.RunAsync(state, model, settings, new SlideRunRequest(string.Empty, string.Empty, string.Empty) { TilesPerRange = 16 }, Console.WriteLine, cancellationToken);
        foreach (string line in report.Lines())
        {
            Console.WriteLine(line);
        }

        bool explained = report.Failed.All(r => !string.IsNullOrWhiteSpace(r.Error));
        return report.Stuck.Count == 0 && report.WrongLabels.Count == 0 && explained ? 0 : 1;
    }

    private static string RandomHeadBundle(string folder)
    {
        if (File.Exists(Path.Combine(folder, "model.onnx")))
        {
            return folder;
        }

        var random = new Random(3);
        var head = new SoftmaxModel(3, ResNetBackbone.FeatureCount, [.. Enumerable.Range(0, 3 * ResNetBackbone.FeatureCount).Select(_ => (float)(random.NextDouble() - 0.5) * 0.2f)], [0.1f, 0, -0.1f]);
        ModelBundle.Save(folder, new ModelManifest
        {
            Classes = ["adenocarcinoma", "benign", "squamous"],
            Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, Features = ResNetBackbone.FeaturesName },
            Aggregation = new AggregationSpec { Mil = new MilAggregator(AttentionMil.Create(ResNetBackbone.FeatureCount, 3, seed: 5)).ToSpec("resnet18") },
        }, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToByteArray());
        return folder;
    }
}
