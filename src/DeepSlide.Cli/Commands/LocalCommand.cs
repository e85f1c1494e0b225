using System.CommandLine;
using System.Globalization;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.Local;
using DeepSlide.Pipeline.Storage;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Cli.Commands;

/// <summary><c>deepslide local up|upload|status</c>: the event-driven pipeline on this machine.</summary>
internal static class LocalCommand
{
    private const string DefaultFolder = ".deepslide-local";

    public static Command Create()
    {
        var command = new Command("local", "Run the event-driven pipeline on this machine: Azurite, cosmosdb-server, the durable host and workers.");
        command.Subcommands.Add(Up());
        command.Subcommands.Add(Upload());
        command.Subcommands.Add(Status());
        command.Subcommands.Add(Clean());
        command.Subcommands.Add(Worker());
        return command;
    }

    private static Command Worker()
    {
        var state = StateOption();
        var name = new Option<string?>("--name") { Description = "The worker's cache folder inside the stack's folder (default: worker-PID)." };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var owner = new Option<int>("--owner") { Description = "Stop when this process ends.", Hidden = true };
        var command = new Command("worker", "Add a worker process to a running local stack: it takes ranges from the stack's queue until Ctrl+C.") { state, name, threads, owner };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string folder = parse.GetValue(state)!;
            LocalStackState stack = LocalStackState.Load(folder);
            var options = new LocalPipelineOptions { StorageConnection = stack.StorageConnection, CosmosEndpoint = stack.CosmosEndpoint, ModelPrefix = stack.ModelPrefix };
            string cache = Path.Combine(folder, parse.GetValue(name) ?? $"worker-{Environment.ProcessId}");
            using Microsoft.Extensions.Hosting.IHost host = await LocalStack.StartWorkerAsync(options, cache, threads: parse.GetValue(threads));
            Console.WriteLine($"worker up: cache {cache}; Ctrl+C stops");
            int ownerId = parse.GetValue(owner);
            try
            {
                while (ownerId <= 0 || OwnerAlive(ownerId))
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
            }

            await host.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }

    private static bool OwnerAlive(int id)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(id);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static Option<string> StateOption() => new("--state") { Description = "The local stack's folder (emulator data, caches, stack.json).", DefaultValueFactory = _ => DefaultFolder };

    private static Command Up()
    {
        var state = StateOption();
        var model = new Option<string?>("--model") { Description = "A model bundle folder to upload as the default model (models/default/)." };
        var workers = new Option<int>("--workers") { Description = "Worker hosts to run.", DefaultValueFactory = _ => 2 };
        var blobPort = new Option<int>("--blob-port") { Description = "Azurite's blob port; queue and table take the next two.", DefaultValueFactory = _ => 10000 };
        var cosmosPort = new Option<int>("--cosmos-port") { Description = "cosmosdb-server's port.", DefaultValueFactory = _ => 8081 };
        var viewerPort = new Option<int>("--viewer-port") { Description = "The viewer's port on 127.0.0.1 (0 picks a free one); -1 runs no viewer.", DefaultValueFactory = _ => 8090 };
        var keepDays = new Option<double>("--keep-days") { Description = "Finished runs' outputs and documents are removed this many days after their last update, checked hourly; 0 keeps everything.", DefaultValueFactory = _ => 30 };
        var command = new Command("up", "Start the local stack and run until Ctrl+C. Slides put into the 'slides' container are classified.") { state, model, workers, blobPort, cosmosPort, viewerPort, keepDays };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string folder = parse.GetValue(state)!;
            using ILoggerFactory loggers = LoggerFactory.Create(b => b
                .AddSimpleConsole(o => { o.SingleLine = true; o.IncludeScopes = true; o.TimestampFormat = "HH:mm:ss "; })
                .AddFilter("DeepSlide", LogLevel.Information)
                .AddFilter("Microsoft", LogLevel.Warning)
                .AddFilter("DurableTask", LogLevel.Warning)
                // The local sidecar sends no keep-alives, so an idle worker stream logs "will attempt to reconnect"
                // every two minutes and then reconnects; a run's own failures are logged by DeepSlide's categories.
                .AddFilter("Microsoft.DurableTask", LogLevel.Error)
                .AddFilter("Grpc", LogLevel.Warning));
            await using LocalStack stack = await LocalStack.StartAsync(folder, parse.GetValue(workers), parse.GetValue(model), loggers, parse.GetValue(blobPort), parse.GetValue(cosmosPort), viewerPort: parse.GetValue(viewerPort) is >= 0 and var port ? port : null);
            Console.WriteLine($"local stack up: {parse.GetValue(workers)} workers, storage {stack.State.StorageConnection}");
            Console.WriteLine($"cosmos {stack.State.CosmosEndpoint}; upload with 'deepslide local upload <slide>', watch with 'deepslide local status'. Ctrl+C stops.");
            if (stack.Viewer is { } viewer)
            {
                Console.WriteLine($"viewer: {viewer.Address}");
            }
            double days = parse.GetValue(keepDays);
            Console.WriteLine(days > 0 ? $"finished runs are removed {days:0.#} days after their last update (--keep-days 0 keeps them)" : "finished runs are kept (--keep-days 0)");
            try
            {
                while (true)
                {
                    if (days > 0)
                    {
                        CleanSummary cleaned = await LocalRetention.CleanAsync(stack.State.StorageConnection, await RunsAsync(stack.State, cancellationToken), DateTimeOffset.UtcNow.AddDays(-days), slides: false, cancellationToken);
                        if (cleaned.Runs > 0)
                        {
                            Console.WriteLine($"removed {cleaned.Runs} run(s) older than {days:0.#} days: {cleaned.Blobs} blobs, {cleaned.Bytes / 1e6:F1} MB");
                        }
                    }

                    await Task.Delay(TimeSpan.FromHours(1), cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("stopping");
            }

            return 0;
        });
        return command;
    }

    private static Command Upload()
    {
        var state = StateOption();
        var slide = new Argument<string>("slide") { Description = "A slide file." };
        var name = new Option<string?>("--name") { Description = "The blob name in the 'slides' container (default: the file's name)." };
        var wait = new Option<bool>("--wait") { Description = "Wait for the run to finish and print it." };
        var timeout = new Option<double>("--timeout") { Description = "With --wait: give up waiting after this many minutes (the run goes on).", DefaultValueFactory = _ => 60 };
        var command = new Command("upload", "Put a slide into the local 'slides' container; the watcher starts its run.") { slide, state, name, wait, timeout };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string folder = parse.GetValue(state)!;
            LocalStackState stack = LocalStackState.Load(folder);
            string path = parse.GetValue(slide)!;
            if (!File.Exists(path))
            {
                throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, path, "the slide file does not exist.");
            }

            string blob = parse.GetValue(name) ?? Path.GetFileName(path);
            SlideBlobName.Validate(blob);

            // Azurite keeps the slide in the stack's folder, and the workers their copies and outputs beside it: a
            // full disk there fails the upload deep inside the emulator, so say it before sending a byte.
            long size = new FileInfo(path).Length;
            if (DiskShortfall(folder, size) is { } full)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, path, full);
            }

            BlobVersion version;
            try
            {
                PipelineStores stores = await new StorageAccount(stack.StorageConnection).StoresAsync(cancellationToken);
                version = await PipelineStores.UploadFileAsync(stores.Slides, blob, path, cancellationToken);
            }
            catch (Exception ex) when (StackFailure(ex) is { } why)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, path, $"the upload to the local stack ({folder}) failed: {DiskShortfall(folder, size) ?? why}", ex);
            }

            string runId = PipelineNames.RunIdForUpload(blob, version.ETag);
            Console.WriteLine($"uploaded {blob} ({version.Length / 1e6:F1} MB); run {runId}");
            if (parse.GetValue(wait))
            {
                TimeSpan limit = TimeSpan.FromMinutes(parse.GetValue(timeout));
                DateTime deadline = DateTime.UtcNow + limit;
                SlideRun? run = null;
                try
                {
                    ISlideRunStore runs = await RunsAsync(stack, cancellationToken);
                    while ((run = await runs.GetAsync(SlideRun.SlideIdOf(blob), runId, cancellationToken)) is null || !RunStatus.IsFinal(run.Status))
                    {
                        if (DateTime.UtcNow > deadline)
                        {
                            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, blob, $"run {runId} is still {run?.Status ?? "not started"} after {limit.TotalMinutes:0.#} minutes; 'deepslide local status' follows it.");
                        }

                        await Task.Delay(500, cancellationToken);
                    }
                }
                catch (Exception ex) when (StackFailure(ex) is { } why)
                {
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, blob, $"waiting for run {runId} failed: {why}; 'deepslide local status' follows it.", ex);
                }

                Print([run]);
                return run.Status == RunStatus.Failed ? 1 : 0;
            }

            return 0;
        });
        return command;
    }

    /// <summary>A run as <c>local status</c> prints it: a line for the run (marked when its calls differ), one per call with its note, and its error.</summary>
    internal static IEnumerable<string> StatusLines(SlideRun run)
    {
        string progress = run.Status == RunStatus.Running ? $" {run.RangesDone}/{run.RangesTotal}" : string.Empty;
        string seconds = run.Seconds.TryGetValue("total", out double total) ? $" in {total.ToString("0.0", CultureInfo.InvariantCulture)} s" : string.Empty;
        string differ = run.Calls.Select(c => c.Label).OfType<string>().Distinct().Count() > 1 ? "  calls differ" : string.Empty;
        yield return $"{run.UpdatedUtc:u}  {run.SlideBlob}  {run.Id}  {run.Status}{progress}{seconds}  patches {run.Patches}, ranges {run.RangesTotal}{differ}";
        foreach (StoredCall call in run.Calls)
        {
            string scores = string.Join("  ", call.Scores.Select(s => $"{s.Key} {s.Value.ToString("0.000", CultureInfo.InvariantCulture)}"));
            yield return $"    {call.Method,-10} {call.Label ?? "(none)",-16} {scores}{(call.Note is null ? string.Empty : $"  ({call.Note})")}";
        }

        if (run.Error is not null)
        {
            yield return $"    error: {run.Error}";
        }
    }

    /// <summary>
    /// Why the stack's disk cannot take a slide of <paramref name="bytes"/> (with room for the workers' copies and
    /// outputs), naming the file system; null when it can.
    /// </summary>
    internal static string? DiskShortfall(string folder, long bytes)
    {
        var disk = new DriveInfo(Path.GetFullPath(folder));
        long needed = (2 * bytes) + (64L << 20);
        return disk.AvailableFreeSpace >= needed
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"the disk is full: {disk.RootDirectory.FullName} (holding {Path.GetFullPath(folder)}) has {disk.AvailableFreeSpace / 1e6:0.0} MB free, and the slide needs {needed / 1e6:0.0} MB there (itself twice, and 64 MB for outputs); free space and upload again.");
    }

    /// <summary>
    /// Why talking to the local stack failed, in one line, for the failures a stack can have (a full disk, an emulator
    /// that stopped or stalls); null for anything else, which is a bug and keeps its stack trace.
    /// </summary>
    internal static string? StackFailure(Exception ex) => ex switch
    {
        AggregateException aggregate => string.Join("; ", aggregate.Flatten().InnerExceptions.Select(e => StackFailure(e) ?? e.Message).Distinct()),
        Azure.RequestFailedException request => request.Status == 0 ? $"the storage emulator did not answer ({request.Message.Split('\n')[0]})" : $"the storage emulator answered {request.Status} {request.ErrorCode}: {request.Message.Split('\n')[0]}",
        CosmosException cosmos => $"cosmosdb-server answered {(int)cosmos.StatusCode}: {cosmos.Message.Split('\n')[0]}",
        IOException io when DiskSpace.IsFull(io) => $"the disk is full: {io.Message}",
        IOException io => io.Message,
        HttpRequestException http => $"the local stack did not answer: {http.Message}",
        TaskCanceledException or TimeoutException => "the local stack did not answer in time (is 'deepslide local up' running, and its disk not full?)",
        _ => null,
    };

    private static Command Status()
    {
        var state = StateOption();
        var slide = new Argument<string?>("slide") { Description = "A slide's blob name (default: every run in the local results store).", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("status", "Show runs from the local results store (cosmosdb-server).") { slide, state };
        command.SetAction(async (parse, cancellationToken) =>
        {
            string folder = parse.GetValue(state)!;
            LocalStackState stack = LocalStackState.Load(folder);
            CosmosSlideRunStore runs = await RunsAsync(stack, cancellationToken);
            if (parse.GetValue(slide) is not { } blob)
            {
                Print(await runs.ListAllAsync(cancellationToken));
                return 0;
            }

            var found = new List<SlideRun>(await runs.ListAsync(SlideRun.SlideIdOf(blob), cancellationToken));

            // A name the local storage emulator cannot list was refused under its readable start.
            string readable = SlideListing.Readable(blob);
            if (readable != blob && await runs.GetAsync(SlideRun.SlideIdOf(readable), PipelineNames.RunIdForUpload(readable, string.Empty), cancellationToken) is { } refused)
            {
                found.Add(refused);
            }

            Print(found.OrderByDescending(r => r.CreatedUtc).ToList());
            return 0;
        });
        return command;
    }

    private static Command Clean()
    {
        var state = StateOption();
        var olderThan = new Option<double>("--older-than") { Description = "Remove finished runs last updated more than this many days ago (0: every finished run).", DefaultValueFactory = _ => 7 };
        var slides = new Option<bool>("--slides") { Description = "Also delete those runs' slides from the 'slides' container, unless a kept run uses them." };
        var command = new Command("clean", "Remove finished runs' outputs and documents from the running local stack, to bound its folder.") { state, olderThan, slides };
        command.SetAction(async (parse, cancellationToken) =>
        {
            LocalStackState stack = LocalStackState.Load(parse.GetValue(state)!);
            double days = parse.GetValue(olderThan);
            CleanSummary cleaned = await LocalRetention.CleanAsync(stack.StorageConnection, await RunsAsync(stack, cancellationToken), DateTimeOffset.UtcNow.AddDays(-days), parse.GetValue(slides), cancellationToken);
            Console.WriteLine($"removed {cleaned.Runs} finished run(s) older than {days:0.#} days: {cleaned.Blobs} output blobs and {cleaned.Slides} slides, {cleaned.Bytes / 1e6:F1} MB; Azurite frees the disk within 10 minutes");
            return 0;
        });
        return command;
    }

    private static async Task<CosmosSlideRunStore> RunsAsync(LocalStackState stack, CancellationToken cancellationToken)
    {
        var client = new CosmosClient(stack.CosmosEndpoint, CosmosServer.Key, CosmosSlideRunStore.ClientOptions(acceptLoopbackCertificate: true));
        return await CosmosSlideRunStore.CreateAsync(client, PipelineNames.Database, PipelineNames.RunsContainer, cancellationToken);
    }

    private static void Print(IReadOnlyList<SlideRun> runs)
    {
        if (runs.Count == 0)
        {
            Console.WriteLine("no runs");
            return;
        }

        foreach (string line in runs.SelectMany(StatusLines))
        {
            Console.WriteLine(line);
        }
    }
}
