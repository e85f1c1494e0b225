using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline.Local;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Slides;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using Google.Protobuf;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Pipeline.Tests;

/// <summary>
/// The whole pipeline on the test's Azurite and cosmosdb-server: a durable host, workers, a model bundle in the
/// models container, and the reference results of classifying slides in one process. Each instance uses its own
/// task hub, queues and model prefix, so tests sharing the emulators stay apart.
/// </summary>
internal sealed class LocalPipeline : IAsyncDisposable
{
    private readonly string _suffix = $"{Guid.NewGuid():N}"[..10];
    private readonly List<IHost> _workers = [];

    public LocalPipeline(string storage, string cosmos, string folder, int tilesPerRange = 8)
    {
        Folder = folder;
        Storage = new StorageAccount(storage);
        Options = new LocalPipelineOptions
        {
            StorageConnection = storage,
            CosmosEndpoint = cosmos,
            TaskHub = $"hub{_suffix}",
            RangeQueue = $"ranges-{_suffix}",
            CompletionQueue = $"done-{_suffix}",
            ModelPrefix = $"model-{_suffix}",
            PollInterval = TimeSpan.FromMilliseconds(500),
            RunDefaults = new SlideRunRequest(string.Empty, string.Empty, string.Empty) { TilesPerRange = tilesPerRange },
            ScratchFolder = Path.Combine(folder, "scratch"),
        };
    }

    public string Folder { get; }

    public StorageAccount Storage { get; }

    public LocalPipelineOptions Options { get; set; }

    public LocalDurableHost? Host { get; private set; }

    public string BundleFolder => Path.Combine(Folder, "model");

    /// <summary>
    /// A random-head bundle (fixed seed) with the default aggregators and an (untrained, seeded) attention MIL, so the
    /// pipeline carries patch features too; uploaded under the pipeline's model prefix. <paramref name="tuned"/>
    /// changes its aggregation as <c>tune</c> would.
    /// </summary>
    /// <param name="int8">When given, an int8 copy (calibrated on rendered tissue) that carries the FP32 graph to
    /// confirm with at these margins is uploaded instead.</param>
    public async Task<ModelBundle> UploadModelAsync(Func<AggregationSpec, AggregationSpec>? tuned = null, (double PatchMargin, double Margin)? int8 = null)
    {
        var aggregation = new AggregationSpec { Mil = new MilAggregator(AttentionMil.Create(ResNetBackbone.FeatureCount, 3, seed: 5)).ToSpec("resnet18") };
        var random = new Random(3);
        var head = new SoftmaxModel(3, 512, Enumerable.Range(0, 1536).Select(_ => (float)(random.NextDouble() - 0.5) * 0.05f).ToArray(), [0.1f, 0, -0.1f]);
        ModelBundle bundle = ModelBundle.Save(BundleFolder, new ModelManifest
        {
            Classes = ["adenocarcinoma", "benign", "squamous"],
            ClassColours = new Dictionary<string, IReadOnlyList<int>> { ["squamous"] = [200, 30, 160] },
            Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, Features = ResNetBackbone.FeaturesName },
            Aggregation = tuned?.Invoke(aggregation) ?? aggregation,
        }, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToByteArray());
        if (int8 is var (patchMargin, margin))
        {
            var tissue = new SyntheticSlide(new SyntheticSlideSpec("squamous", 2000, 1500, 11));
            var calibration = new List<ReadOnlyMemory<byte>>();
            for (int y = 0; y + 224 <= 1500; y += 224)
            {
                for (int x = 0; x + 224 <= 2000; x += 224)
                {
                    var rgb = new byte[224 * 224 * 3];
                    tissue.Render(1, x, y, 224, 224, rgb);
                    calibration.Add(rgb);
                }
            }

            bundle = Inference.Quantization.ModelQuantizer.ToInt8(bundle, BundleFolder + "-int8", calibration, "rendered tissue").WithConfirmation(bundle, margin, patchMargin);
        }

        PipelineStores stores = await Storage.StoresAsync();
        foreach (string file in bundle.Manifest.Onnx.Confirm is { } confirm ? ["manifest.json", "model.onnx", confirm.File] : new[] { "manifest.json", "model.onnx" })
        {
            await PipelineStores.UploadFileAsync(stores.Models, $"{Options.ModelPrefix}/{file}", Path.Combine(bundle.Folder, file));
        }

        return bundle;
    }

    public static string WriteSlide(string folder, string name, int seed, int width = 2000, int height = 1500)
    {
        string path = Path.Combine(folder, name);
        SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("squamous", width, height, seed)), path, SyntheticFormat.Aperio);
        return path;
    }

    /// <summary>What <c>deepslide classify</c> makes of the slide with the bundle: the reference the pipeline must equal.</summary>
    public static async Task<SlideResult> ClassifyLocallyAsync(string slide, ModelBundle bundle)
    {
        using PatchClassifier classifier = PatchClassifier.Load(bundle);
        using CallConfirmation? confirmation = CallConfirmation.For(bundle);
        using ISlideReader reader = SlideReader.Open(slide);
        return await SlideClassifier.ClassifyAsync(reader, classifier, Aggregators.FromManifest(bundle.Manifest), confirmation: confirmation);
    }

    public async Task<LocalDurableHost> StartHostAsync()
    {
        // DEEPSLIDE_TEST_LOGS=1 shows the durable host's logs when a run needs explaining.
        ILoggerFactory? logs = Environment.GetEnvironmentVariable("DEEPSLIDE_TEST_LOGS") == "1"
            ? LoggerFactory.Create(b => b.AddSimpleConsole(o => o.IncludeScopes = true).SetMinimumLevel(LogLevel.Information))
            : null;
        Host = await LocalDurableHost.StartAsync(Options, logs);
        return Host;
    }

    public async Task StopHostAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
            Host = null;
        }
    }

    /// <summary>A worker host as the container runs it, on this pipeline's queues.</summary>
    public async Task<IHost> StartWorkerAsync(TimeSpan? lockDuration = null)
    {
        ILoggerFactory? logs = Environment.GetEnvironmentVariable("DEEPSLIDE_TEST_LOGS") == "1" ? LoggerFactory.Create(b => b.AddSimpleConsole()) : null;
        IHost host = await LocalStack.StartWorkerAsync(Options, Path.Combine(Folder, $"worker{_workers.Count}"), logs, batchSize: 8, lockDuration);
        _workers.Add(host);
        return host;
    }

    public async Task<BlobVersion> UploadSlideAsync(string blob, string path)
    {
        PipelineStores stores = await Storage.StoresAsync();
        return await PipelineStores.UploadFileAsync(stores.Slides, blob, path);
    }

    public async ValueTask DisposeAsync()
    {
        await StopHostAsync();
        foreach (IHost worker in _workers)
        {
            await worker.StopAsync();
            worker.Dispose();
        }
    }
}
