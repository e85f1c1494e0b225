using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Local;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Visualization;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepSlide.Cli.Commands;

/// <summary>
/// The orchestration's cost: one slide classified in one process (plan, inference, aggregation, pictures, Parquet),
/// then through the local event-driven pipeline (Azurite, cosmosdb-server, the durable host, two workers), upload
/// to stored result. The difference, as a share of the pipeline's wall time, is the overhead.
/// </summary>
internal static class PipelineBench
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var work = new Option<string>("--work") { Description = "Folder for the benchmark slide, model and local stack.", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "deepslide-bench") };
        var ranges = new Option<int>("--ranges") { Description = "How many ranges to split the slide into.", DefaultValueFactory = _ => 20 };
        var workers = new Option<int>("--workers") { Description = "Worker hosts.", DefaultValueFactory = _ => 2 };
        var width = new Option<int>("--width") { Description = "The benchmark slide's width in pixels.", DefaultValueFactory = _ => 20_000 };
        var height = new Option<int>("--height") { Description = "The benchmark slide's height in pixels.", DefaultValueFactory = _ => 15_000 };
        var precision = new Option<string>("--precision") { Description = "The model: fp32, or its int8 copy (faster on the CPU, for large slides).", DefaultValueFactory = _ => "fp32" };
        precision.AcceptOnlyFromAmong("fp32", "int8");
        var simulate = new Option<bool>("--simulate") { Description = "Instead: drive the real orchestration with simulated workers (no inference) at 20, 100 and 500 ranges, or --ranges." };
        var rangeSeconds = new Option<double>("--range-seconds") { Description = "--simulate: how long a simulated worker spends on a range.", DefaultValueFactory = _ => 1 };
        var command = new Command("bench-pipeline", "Measure the event-driven pipeline's overhead and the slide bytes its workers move, against classifying the same slide in one process.") { work, ranges, workers, width, height, precision, simulate, rangeSeconds };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string folder = parse.GetValue(work)!;
            Directory.CreateDirectory(folder);
            if (parse.GetValue(simulate))
            {
                IReadOnlyList<int> counts = parse.GetResult(ranges) is { Implicit: false } ? [parse.GetValue(ranges)] : [20, 100, 500];
                int simulatedWorkers = parse.GetResult(workers) is { Implicit: false } ? parse.GetValue(workers) : 16;
                await PipelineSimulation.RunAsync(folder, counts, simulatedWorkers, TimeSpan.FromSeconds(parse.GetValue(rangeSeconds)), cancellationToken);
                return 0;
            }

            string slide = BenchCommand.EnsureSlide(folder, parse.GetValue(width), parse.GetValue(height));
            ModelBundle bundle = ModelBundle.Load(parse.GetValue(precision) == "int8"
                ? await InferenceBench.EnsureInt8BundleAsync(folder, BenchCommand.EnsureSlide(folder, 20_000, 15_000), cancellationToken)
                : InferenceBench.EnsureBundle(folder));
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores; slide {slide}");

            var watch = Stopwatch.StartNew();
            SlideResult local;
            using (PatchClassifier classifier = PatchClassifier.Load(bundle))
            using (ISlideReader reader = SlideReader.Open(slide))
            {
                local = await SlideClassifier.ClassifyAsync(reader, classifier, Aggregators.FromManifest(bundle.Manifest), cancellationToken: cancellationToken);
                string output = Path.Combine(folder, "one-process");
                ResultPictures.Write(reader, local, output);
                await PatchParquet.WriteAsync(local, Path.Combine(output, "patches.parquet"), cancellationToken);
            }

            double oneProcess = watch.Elapsed.TotalSeconds;
            int tiles = local.Plan!.Tiles.Count;
            int tilesPerRange = (tiles + parse.GetValue(ranges) - 1) / parse.GetValue(ranges);
            Console.WriteLine(string.Create(C, $"one process: {tiles} patches, plan + classify + pictures in {oneProcess:0.0} s"));

            string stackFolder = Path.Combine(folder, $"stack-{Guid.NewGuid():N}"[..14]);
            await using (LocalStack stack = await LocalStack.StartAsync(
                stackFolder,
                parse.GetValue(workers),
                bundle.Folder,
                NullLoggerFactory.Instance,
                runDefaults: new SlideRunRequest(string.Empty, string.Empty, string.Empty) { TilesPerRange = tilesPerRange }))
            {
                PipelineStores stores = await new StorageAccount(stack.State.StorageConnection).StoresAsync(cancellationToken);
                watch.Restart();
                BlobVersion version = await PipelineStores.UploadFileAsync(stores.Slides, "bench/" + Path.GetFileName(slide), slide, cancellationToken);
                SlideRun run = await stack.Host.WaitForRunAsync(SlideRun.SlideIdOf(version.Name), PipelineNames.RunIdForUpload(version.Name, version.ETag), TimeSpan.FromMinutes(30), cancellationToken);
                double pipeline = watch.Elapsed.TotalSeconds;
                bool same = run.Calls.Select(c => c.Label).SequenceEqual(local.Calls.Select(c => c.Label));
                Console.WriteLine(string.Create(C, $"pipeline: {run.Status}, {run.RangesTotal} ranges of {tilesPerRange} tiles, {parse.GetValue(workers)} workers, upload to stored result in {pipeline:0.0} s; labels {(same ? "equal" : "DIFFER")}"));
                Console.WriteLine("  stages: " + string.Join(", ", run.Seconds.Select(s => string.Create(C, $"{s.Key} {s.Value:0.0} s"))));
                Console.WriteLine(string.Create(C, $"slide bytes: the workers fetched {run.SlideBytesFetched / 1e6:0.0} MB of a {run.SlideBytes / 1e6:0.0} MB slide, so they moved {(double)run.SlideBytesFetched / run.SlideBytes:0.00} x the slide (a whole download per worker would move {parse.GetValue(workers)} x){(run.WholeSlideBecause is { } why ? $"; read whole because {why}" : string.Empty)}"));
                Console.WriteLine(string.Create(C, $"time to first patch: the longest wait of a range for its slide bytes was {run.Seconds.GetValueOrDefault("rangeFetchMax"):0.00} s"));
                string merged = Path.Combine(stackFolder, "merged.parquet");
                await PipelineStores.DownloadCurrentAsync(stores.Results, run.Outputs["patches"], merged, cancellationToken: cancellationToken);
                float[] pipelineValues = (await PatchParquet.ReadProbabilitiesAsync(merged, local.Patches.Classes, cancellationToken)).Values.ToArray();
                float[] localValues = local.Patches.Values.ToArray();
                int differing = pipelineValues.Length != localValues.Length ? -1 : Enumerable.Range(0, local.Patches.Count).Count(i => !pipelineValues.AsSpan(i * local.Patches.Classes.Count, local.Patches.Classes.Count).SequenceEqual(localValues.AsSpan(i * local.Patches.Classes.Count, local.Patches.Classes.Count)));
                Console.WriteLine(differing == 0 ? $"patch predictions: all {local.Patches.Count} equal classify's, bit for bit" : $"patch predictions: {(differing < 0 ? "a different number of patches" : $"{differing} of {local.Patches.Count} differ")} from classify's");
                int n = parse.GetValue(workers);
                double workerPath = run.Seconds["workerPlan"] + (run.Seconds["workerRanges"] / n) + run.Seconds["workerAggregate"];
                Console.WriteLine(string.Create(C, $"orchestration overhead (wall time no worker spends on the run, with the ranges' {run.Seconds["workerRanges"]:0.0} worker-seconds shared by {n}): {pipeline - workerPath:0.0} s, {(pipeline - workerPath) / pipeline:P1} of the wall time (target <= 15%)"));
                Console.WriteLine(string.Create(C, $"against one process: +{pipeline - oneProcess:0.0} s ({(pipeline - oneProcess) / pipeline:P1} of the pipeline's wall time), with the emulators, the durable host and the workers sharing {Environment.ProcessorCount} cores"));
            }

            Directory.Delete(stackFolder, recursive: true);
            return 0;
        });
        return command;
    }
}
