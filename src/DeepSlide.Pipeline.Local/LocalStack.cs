using System.Text.Json;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Pipeline.Work;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Pipeline.Local;

/// <summary>Where a running local stack is, written by <c>deepslide local up</c> for the other <c>local</c> commands.</summary>
public sealed record LocalStackState(string StorageConnection, string CosmosEndpoint, string ModelPrefix)
{
    private static JsonSerializerOptions Json => PipelineJson.Indented;

    public static string PathIn(string folder) => Path.Combine(folder, "stack.json");

    public void Save(string folder) => File.WriteAllText(PathIn(folder), JsonSerializer.Serialize(this, Json));

    public static LocalStackState Load(string folder)
    {
        string path = PathIn(folder);
        if (!File.Exists(path))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, path, "no local stack is running from this folder; start one with 'deepslide local up'.");
        }

        return JsonSerializer.Deserialize<LocalStackState>(File.ReadAllText(path), Json)
            ?? throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, "the local stack's state file is empty.");
    }
}

/// <summary>
/// The event-driven pipeline on one machine, as <c>deepslide local up</c> runs it: Azurite and cosmosdb-server, the
/// local durable host watching the slides container, and in-process worker hosts configured as the container is.
/// Everything lives in one folder and survives a restart: Azurite's data (slides, results, queues, the durable task
/// hub) and the run history (<see cref="RunHistory"/>).
/// </summary>
public sealed class LocalStack : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _parts = [];

    /// <summary>The local range lock (the queue message's visibility timeout).</summary>
    public static readonly TimeSpan LocalLockDuration = TimeSpan.FromSeconds(30);

    public required LocalStackState State { get; init; }

    public required LocalDurableHost Host { get; init; }

    public required Azurite Azurite { get; init; }

    public required CosmosServer Cosmos { get; init; }

    /// <summary>The viewer over the stack's runs, when it was asked for.</summary>
    public LocalViewer? Viewer { get; private init; }

    public static async Task<LocalStack> StartAsync(string folder, int workers, string? modelFolder, ILoggerFactory loggers, int? blobPort = null, int? cosmosPort = null, Orchestration.SlideRunRequest? runDefaults = null, int? viewerPort = null)
    {
        Directory.CreateDirectory(folder);
        var parts = new List<IAsyncDisposable>();
        try
        {
            Azurite azurite = await Azurite.StartAsync(Path.Combine(folder, "azurite"), blobPort, blobPort + 1, blobPort + 2);
            parts.Add(azurite);
            CosmosServer cosmos = await CosmosServer.StartAsync(cosmosPort);
            parts.Add(cosmos);
            parts.Add(await RunHistory.StartAsync(folder, cosmos.Endpoint, TimeSpan.FromSeconds(5), loggers.CreateLogger<RunHistory>()));
            var state = new LocalStackState(azurite.ConnectionString, cosmos.Endpoint, PipelineNames.DefaultModelPrefix);
            if (modelFolder is not null)
            {
                PipelineStores stores = await new StorageAccount(azurite.ConnectionString).StoresAsync();
                foreach (string file in Directory.GetFiles(modelFolder))
                {
                    await PipelineStores.UploadFileAsync(stores.Models, $"{state.ModelPrefix}/{Path.GetFileName(file)}", file);
                }
            }

            var options = new LocalPipelineOptions
            {
                StorageConnection = azurite.ConnectionString,
                CosmosEndpoint = cosmos.Endpoint,
                ModelPrefix = state.ModelPrefix,
                ScratchFolder = Path.Combine(folder, "scratch"),
                RunDefaults = runDefaults ?? new Orchestration.SlideRunRequest(string.Empty, string.Empty, string.Empty),
            };
            LocalDurableHost host = await LocalDurableHost.StartAsync(options, loggers);
            parts.Add(host);
            for (int i = 0; i < workers; i++)
            {
                parts.Add(new HostDisposer(await StartWorkerAsync(options, Path.Combine(folder, $"worker{i}"), loggers, threads: Math.Max(1, Environment.ProcessorCount / workers))));
            }

            LocalViewer? viewer = null;
            if (viewerPort is { } port)
            {
                viewer = await LocalViewer.StartAsync(options, Path.Combine(folder, "viewer"), port);
                parts.Add(viewer);
            }

            state.Save(folder);
            var stack = new LocalStack { State = state, Host = host, Azurite = azurite, Cosmos = cosmos, Viewer = viewer };
            stack._parts.AddRange(parts);
            return stack;
        }
        catch
        {
            foreach (IAsyncDisposable part in Enumerable.Reverse(parts))
            {
                await part.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>
    /// A worker host composed as the container is (<see cref="WorkServices.AddWork"/>), on the local queues. The range lock is 30 s
    /// here, renewed every 15 s while a range runs: a killed worker's range returns in under a minute, where Azure's
    /// 5-minute Service Bus lock would hold it for five.
    /// </summary>
    public static async Task<IHost> StartWorkerAsync(LocalPipelineOptions options, string cacheFolder, ILoggerFactory? loggers = null, int batchSize = 16, TimeSpan? lockDuration = null, int? threads = null)
    {
        HostApplicationBuilder builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (loggers is not null)
        {
            builder.Services.AddSingleton(loggers);
        }

        builder.Services.AddWork(new WorkerOptions
        {
            StorageConnection = options.StorageConnection,
            RangeQueue = options.RangeQueue,
            CompletionQueue = options.CompletionQueue,
            CacheFolder = cacheFolder,
            // The slides are in Azurite on the same disk already: each worker's copy is kept small.
            SlideCacheBytes = 2L << 30,
            BatchSize = batchSize,
            LockDuration = lockDuration ?? LocalLockDuration,
            Threads = threads ?? Environment.ProcessorCount,
        });
        IHost host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IAsyncDisposable part in Enumerable.Reverse(_parts))
        {
            await part.DisposeAsync();
        }
    }

    private sealed class HostDisposer(IHost host) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }
}
