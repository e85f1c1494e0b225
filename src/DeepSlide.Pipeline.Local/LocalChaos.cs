using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Models;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Slides;
using Microsoft.Azure.Cosmos;

namespace DeepSlide.Pipeline.Local;

/// <summary>The faults <see cref="LocalChaos"/> injects into a running local stack.</summary>
public enum ChaosFault
{
    /// <summary>Azurite frozen (SIGSTOP), then let go.</summary>
    FreezeStorage,

    /// <summary>cosmosdb-server frozen, then let go.</summary>
    FreezeCosmos,

    /// <summary>A worker process killed (SIGKILL) while ranges are in flight; a new one started after.</summary>
    KillWorker,

    /// <summary>Range messages copied off the queue and sent again after their originals were done.</summary>
    LateDuplicates,

    /// <summary>The state folder's file system filled to the last byte, then freed.</summary>
    FillDisk,
}

/// <summary>What one chaos run does.</summary>
public sealed record ChaosSettings
{
    public required int Uploads { get; init; }

    /// <summary>Slide files, uploaded in turn under fresh names.</summary>
    public required IReadOnlyList<string> Slides { get; init; }

    /// <summary>The command line that starts one worker process for the stack: <c>deepslide local worker</c>, with the folder, name and owner appended.</summary>
    public required IReadOnlyList<string> WorkerCommand { get; init; }

    public int Workers { get; init; } = 2;

    public TimeSpan UploadEvery { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The faults in order, one at a time, spread over the uploads; <see cref="RandomFaults"/> draws more while uploads go on.</summary>
    public IReadOnlyList<ChaosFault> Faults { get; init; } = [];

    public bool RandomFaults { get; init; }

    public int Seed { get; init; } = 1;

    public TimeSpan FreezeFor { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan DiskFullFor { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long every run has, after the last upload and the last fault, to reach a final state.</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The disk fault is only injected on a file system this small (a tmpfs made for it); on a larger one it is skipped and said.</summary>
    public long FillDiskAtMost { get; init; } = 4L << 30;
}

/// <summary>One upload's fate.</summary>
public sealed record ChaosUpload(string Blob, string Slide, string? RunId, string? Refused);

/// <summary>What a chaos run found.</summary>
public sealed record ChaosReport(
    IReadOnlyList<ChaosUpload> Uploads,
    IReadOnlyList<SlideRun> Runs,
    IReadOnlyList<string> Faults,
    IReadOnlyList<string> WrongLabels,
    double Seconds)
{
    public int Refused => Uploads.Count(u => u.Refused is not null);

    public int Completed => Runs.Count(r => r.Status == RunStatus.Completed);

    public IReadOnlyList<SlideRun> Failed => [.. Runs.Where(r => r.Status == RunStatus.Failed)];

    /// <summary>Runs not final when time was up, and accepted uploads whose run never appeared.</summary>
    public IReadOnlyList<string> Stuck =>
    [
        .. Runs.Where(r => !RunStatus.IsFinal(r.Status)).Select(r => $"{r.SlideBlob} {r.Id}: still {r.Status} {r.RangesDone}/{r.RangesTotal}"),
        .. Uploads.Where(u => u.RunId is not null && Runs.All(r => r.Id != u.RunId)).Select(u => $"{u.Blob} {u.RunId}: no run document"),
    ];

    public int LabelsEqual => Runs.Count(r => r.Status == RunStatus.Completed) - WrongLabels.Count;

    public IEnumerable<string> Lines()
    {
        var c = CultureInfo.InvariantCulture;
        yield return string.Create(c, $"faults: {Faults.Count} ({string.Join(", ", Faults.GroupBy(f => f.Split(' ')[0]).Select(g => $"{g.Key} {g.Count()}"))})");
        yield return string.Create(c, $"uploads: {Uploads.Count}, refused with a reason: {Refused}{string.Concat(Uploads.Where(u => u.Refused is not null).Select(u => $"\n    {u.Blob}: {u.Refused}"))}");
        yield return string.Create(c, $"runs completed: {Completed}, failed with a reason: {Failed.Count}, stuck: {Stuck.Count}");
        foreach (SlideRun run in Failed)
        {
            yield return $"    failed {run.SlideBlob}: {run.Error}";
        }

        foreach (string stuck in Stuck)
        {
            yield return $"    stuck {stuck}";
        }

        yield return string.Create(c, $"labels equal to classify: {LabelsEqual} of {Completed} completed runs{string.Concat(WrongLabels.Select(w => $"\n    {w}"))}");
        yield return string.Create(c, $"took {Seconds:0} s");
    }
}

/// <summary>
/// Breaks a running local stack on purpose while slides are uploaded, then checks that every run ended: completed
/// with the labels <c>classify</c> gives the same slide, or failed with a reason. The workers run as processes of their
/// own so that one can be killed as a crash would (no lock given back, no notice sent).
/// </summary>
public sealed class LocalChaos : IAsyncDisposable
{
    private readonly LocalStack _stack;
    private readonly string _folder;
    private readonly ChaosSettings _settings;
    private readonly List<Process> _workers = [];
    private readonly ConcurrentQueue<string> _faults = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _workerCount;

    private LocalChaos(LocalStack stack, string folder, ChaosSettings settings)
    {
        _stack = stack;
        _folder = folder;
        _settings = settings;
    }

    /// <summary>
    /// Runs <paramref name="settings"/> on a stack in <paramref name="folder"/> (started here, with no in-process workers)
    /// classifying with the bundle in <paramref name="modelFolder"/>.
    /// </summary>
    public static async Task<ChaosReport> RunAsync(string folder, string modelFolder, ChaosSettings settings, Orchestration.SlideRunRequest runDefaults, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        log ??= _ => { };
        var reference = await ReferenceCallsAsync(settings.Slides, ModelBundle.Load(modelFolder), cancellationToken);
        await using LocalStack stack = await LocalStack.StartAsync(folder, 0, modelFolder, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, runDefaults: runDefaults);
        await using var chaos = new LocalChaos(stack, folder, settings);
        return await chaos.RunAsync(reference, log, cancellationToken);
    }

    private async Task<ChaosReport> RunAsync(IReadOnlyDictionary<string, IReadOnlyList<SlideCall>> reference, Action<string> log, CancellationToken cancellationToken)
    {
        for (int i = 0; i < _settings.Workers; i++)
        {
            StartWorker();
        }

        PipelineStores stores = await new StorageAccount(_stack.State.StorageConnection).StoresAsync(cancellationToken);
        var uploads = new ConcurrentBag<ChaosUpload>();
        var uploading = new List<Task>();
        var random = new Random(_settings.Seed);
        var planned = new Queue<ChaosFault>(_settings.Faults);
        Task fault = Task.CompletedTask;
        DateTime idleSince = DateTime.UtcNow;
        for (int i = 0; i < _settings.Uploads; i++)
        {
            string slide = _settings.Slides[i % _settings.Slides.Count];
            string blob = string.Create(CultureInfo.InvariantCulture, $"chaos/{i:D3}-{Path.GetFileName(slide)}");
            uploading.Add(UploadAsync(stores, blob, slide, uploads, log, cancellationToken));

            // Faults land while uploads go on, so each one meets runs in flight: the planned ones spread evenly over the
            // uploads, random ones whenever the last has been over for a few seconds.
            if (fault.IsCompleted)
            {
                bool due = planned.Count > 0
                    ? i + 1 >= (_settings.Faults.Count - planned.Count + 1) * _settings.Uploads / (_settings.Faults.Count + 1)
                    : _settings.RandomFaults && DateTime.UtcNow - idleSince > TimeSpan.FromSeconds(5);
                if (due)
                {
                    ChaosFault next = planned.Count > 0 ? planned.Dequeue() : (ChaosFault)random.Next(Enum.GetValues<ChaosFault>().Length);
                    fault = InjectLoggedAsync(next, random, log).ContinueWith(_ => idleSince = DateTime.UtcNow, TaskScheduler.Default);
                }
            }

            await Task.Delay(_settings.UploadEvery, cancellationToken);
        }

        await fault;
        while (planned.TryDequeue(out ChaosFault left))
        {
            await InjectLoggedAsync(left, random, log);
        }

        await Task.WhenAll(uploading);
        log(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds:0} s: uploads and faults done; waiting up to {_settings.Settle.TotalMinutes:0.#} min for every run to end"));
        IReadOnlyList<SlideRun> runs = await SettleAsync(uploads, cancellationToken);
        var wrong = new List<string>();
        foreach (SlideRun run in runs.Where(r => r.Status == RunStatus.Completed))
        {
            string slide = uploads.First(u => u.Blob == run.SlideBlob).Slide;
            foreach (SlideCall expected in reference[slide])
            {
                string? got = run.Calls.FirstOrDefault(c => c.Method == expected.Method)?.Label;
                if (got != expected.Label)
                {
                    wrong.Add($"{run.SlideBlob} {expected.Method}: {got ?? "(none)"}, classify says {expected.Label ?? "(none)"}");
                }
            }
        }

        return new ChaosReport([.. uploads.OrderBy(u => u.Blob, StringComparer.Ordinal)], runs, [.. _faults], wrong, _clock.Elapsed.TotalSeconds);
    }

    private async Task UploadAsync(PipelineStores stores, string blob, string slide, ConcurrentBag<ChaosUpload> uploads, Action<string> log, CancellationToken cancellationToken)
    {
        try
        {
            BlobVersion version = await PipelineStores.UploadFileAsync(stores.Slides, blob, slide, cancellationToken);
            uploads.Add(new ChaosUpload(blob, slide, PipelineNames.RunIdForUpload(blob, version.ETag), null));
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or IOException or OperationCanceledException or AggregateException && !cancellationToken.IsCancellationRequested)
        {
            // The client is told; a person would upload again once the fault is over.
            string why = ex.Message.Split('\n')[0];
            uploads.Add(new ChaosUpload(blob, slide, null, why));
            log($"upload {blob} refused: {why}");
        }
    }

    private async Task InjectLoggedAsync(ChaosFault fault, Random random, Action<string> log)
    {
        string started = string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds:0} s");
        string what = await InjectAsync(fault, random);
        _faults.Enqueue(what);
        log($"{started}: {what}");
    }

    private async Task<string> InjectAsync(ChaosFault fault, Random random)
    {
        switch (fault)
        {
            case ChaosFault.FreezeStorage:
                await FreezeAsync(_stack.Azurite.Server);
                return $"FreezeStorage: Azurite frozen for {_settings.FreezeFor.TotalSeconds:0} s";
            case ChaosFault.FreezeCosmos:
                await FreezeAsync(_stack.Cosmos.Server);
                return $"FreezeCosmos: cosmosdb-server frozen for {_settings.FreezeFor.TotalSeconds:0} s";
            case ChaosFault.KillWorker:
            {
                int inFlight = await WaitForWorkInFlightAsync(TimeSpan.FromSeconds(30));
                Process victim = _workers[random.Next(_workers.Count)];
                victim.Kill(entireProcessTree: true);
                await victim.WaitForExitAsync();
                _workers.Remove(victim);
                victim.Dispose();
                StartWorker();
                return $"KillWorker: a worker process killed (SIGKILL) {(inFlight > 0 ? "while work was taken from the queue" : "with no work seen in flight")}, a new one started";
            }

            case ChaosFault.LateDuplicates:
            {
                QueueClient queue = RangeQueue();
                PeekedMessage[] peeked = [];
                for (var waited = Stopwatch.StartNew(); peeked.Length == 0 && waited.Elapsed < TimeSpan.FromSeconds(30); await Task.Delay(200))
                {
                    peeked = (await queue.PeekMessagesAsync(32)).Value;
                }

                await Task.Delay(TimeSpan.FromSeconds(15));
                foreach (PeekedMessage message in peeked)
                {
                    await queue.SendMessageAsync(message.Body);
                }

                return $"LateDuplicates: {peeked.Length} range message(s) sent again 15 s after they were queued";
            }

            case ChaosFault.FillDisk:
            {
                var disk = new DriveInfo(Path.GetFullPath(_folder));
                if (disk.TotalSize > _settings.FillDiskAtMost)
                {
                    return $"FillDisk skipped: {disk.RootDirectory.FullName} holds {disk.TotalSize / 1e9:0.0} GB; put the state folder on a small file system (a tmpfs) to include it";
                }

                string filler = Path.Combine(_folder, "chaos-filler");
                long written = Fill(filler);
                try
                {
                    await Task.Delay(_settings.DiskFullFor);
                }
                finally
                {
                    File.Delete(filler);
                }

                return $"FillDisk: {disk.RootDirectory.FullName} filled ({written / 1e6:0} MB) for {_settings.DiskFullFor.TotalSeconds:0} s, then freed";
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(fault), fault, null);
        }
    }

    private async Task FreezeAsync(LocalServer server)
    {
        await server.PauseAsync();
        try
        {
            await Task.Delay(_settings.FreezeFor);
        }
        finally
        {
            await server.ResumeAsync();
        }
    }

    private static long Fill(string path)
    {
        var chunk = new byte[1 << 20];
        long written = 0;
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        try
        {
            for (int size = chunk.Length; size > 0;)
            {
                try
                {
                    file.Write(chunk, 0, size);
                    written += size;
                }
                catch (IOException)
                {
                    size /= 2;
                }
            }
        }
        catch (IOException)
        {
        }

        return written;
    }

    // How many pieces of work are taken and not yet done (the queue's count less its visible messages), once there are any.
    private async Task<int> WaitForWorkInFlightAsync(TimeSpan atMost)
    {
        QueueClient queue = RangeQueue();
        var watch = Stopwatch.StartNew();
        int inFlight = 0;
        while (watch.Elapsed < atMost)
        {
            QueueProperties properties = await queue.GetPropertiesAsync();
            PeekedMessage[] visible = (await queue.PeekMessagesAsync(32)).Value;

            // A peek shows 32 at most: with more waiting, how many are taken cannot be told apart.
            inFlight = properties.ApproximateMessagesCount - visible.Length;
            if (inFlight > 0 && visible.Length < 32)
            {
                break;
            }

            await Task.Delay(200);
        }

        return inFlight;
    }

    private QueueClient RangeQueue() => new StorageAccount(_stack.State.StorageConnection).Queues().GetQueueClient(PipelineNames.RangeQueue);

    private void StartWorker()
    {
        string name = string.Create(CultureInfo.InvariantCulture, $"chaos-worker{_workerCount++}");
        var start = new ProcessStartInfo(_settings.WorkerCommand[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in _settings.WorkerCommand.Skip(1).Concat(["--state", _folder, "--name", name, "--threads", "1", "--owner", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)]))
        {
            start.ArgumentList.Add(argument);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {_settings.WorkerCommand[0]}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _workers.Add(process);
    }

    // Polls the results store until every upload's run is final or the time is up; a frozen store only delays it.
    private async Task<IReadOnlyList<SlideRun>> SettleAsync(IEnumerable<ChaosUpload> uploads, CancellationToken cancellationToken)
    {
        using var client = new CosmosClient(_stack.State.CosmosEndpoint, CosmosServer.Key, CosmosSlideRunStore.ClientOptions(acceptLoopbackCertificate: true));
        CosmosSlideRunStore store = await CosmosSlideRunStore.CreateAsync(client, PipelineNames.Database, PipelineNames.RunsContainer, cancellationToken);
        var expected = uploads.Where(u => u.RunId is not null).Select(u => u.RunId!).ToHashSet(StringComparer.Ordinal);
        var watch = Stopwatch.StartNew();
        IReadOnlyList<SlideRun> runs = [];
        while (true)
        {
            runs = await store.ListAllAsync(cancellationToken);
            bool settled = runs.All(r => RunStatus.IsFinal(r.Status)) && expected.All(id => runs.Any(r => r.Id == id));
            if (settled || watch.Elapsed > _settings.Settle)
            {
                return runs;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    private static async Task<IReadOnlyDictionary<string, IReadOnlyList<SlideCall>>> ReferenceCallsAsync(IEnumerable<string> slides, ModelBundle bundle, CancellationToken cancellationToken)
    {
        var calls = new Dictionary<string, IReadOnlyList<SlideCall>>(StringComparer.Ordinal);
        using PatchClassifier classifier = PatchClassifier.Load(bundle, new InferenceOptions { Threads = Environment.ProcessorCount });
        foreach (string slide in slides.Distinct(StringComparer.Ordinal))
        {
            using ISlideReader reader = SlideReader.Open(slide);
            SlideResult result = await SlideClassifier.ClassifyAsync(reader, classifier, Aggregators.FromManifest(bundle.Manifest), cancellationToken: cancellationToken);
            calls[slide] = result.Calls;
        }

        return calls;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (Process worker in _workers)
        {
            if (!worker.HasExited)
            {
                worker.Kill(entireProcessTree: true);
                await worker.WaitForExitAsync();
            }

            worker.Dispose();
        }
    }
}
