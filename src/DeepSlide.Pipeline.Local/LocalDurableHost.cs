using System.Net;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline.Storage;
using DeepSlide.ServiceDefaults;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Pipeline.Local;

/// <summary>
/// The orchestration side of the pipeline in one process, standing in for the Functions app: the Durable Task gRPC
/// sidecar (TaskHubGrpcServer) over an Azure Storage orchestration service on Azurite, a worker host running
/// <see cref="SlideRunOrchestrator"/> and its activities (the same classes the Functions app runs), a blob watcher
/// in place of Event Grid, and a relay from the completion queue to orchestration events (the queue trigger's job in
/// Azure). Runs survive a restart: their state is in Azurite.
/// </summary>
public sealed class LocalDurableHost : IAsyncDisposable
{
    private readonly WebApplication _sidecar;
    private readonly IHost _worker;
    private readonly GrpcChannel _channel;
    private readonly StartedOrchestrationService _dispatched;
    private bool _stopped;

    private LocalDurableHost(WebApplication sidecar, IHost worker, GrpcChannel channel, StartedOrchestrationService dispatched)
    {
        _sidecar = sidecar;
        _worker = worker;
        _channel = channel;
        _dispatched = dispatched;
    }

    public DurableTaskClient Client => _worker.Services.GetRequiredService<DurableTaskClient>();

    public ISlideRunStore Runs => _worker.Services.GetRequiredService<ISlideRunStore>();

    public SlideRunStarter Starter => _worker.Services.GetRequiredService<SlideRunStarter>();

    public static async Task<LocalDurableHost> StartAsync(LocalPipelineOptions options, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        loggers ??= Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = options.TaskHub,
            StorageAccountClientProvider = new StorageAccountClientProvider(options.StorageConnection),
            MaxQueuePollingInterval = options.PollInterval,

            // One machine, one host: one control queue to poll instead of four.
            PartitionCount = 1,

            // A host that stops mid-episode or mid-activity leaves the messages it had fetched invisible this long;
            // the 5-minute defaults would stall a restarted host's runs for minutes. Episodes take milliseconds, and an
            // activity that outlasts its timeout runs again, which every activity here tolerates (idempotent writes).
            ControlQueueVisibilityTimeout = TimeSpan.FromSeconds(20),
            WorkItemQueueVisibilityTimeout = TimeSpan.FromSeconds(60),
            LoggerFactory = loggers,
        };
        var service = new AzureStorageOrchestrationService(settings);
        await service.CreateIfNotExistsAsync();

        // The sidecar first: the worker connects to it as it starts.
        WebApplicationBuilder sidecarBuilder = WebApplication.CreateSlimBuilder();
        sidecarBuilder.Logging.ClearProviders();
        sidecarBuilder.Services.AddSingleton(loggers);
        sidecarBuilder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        sidecarBuilder.Services.AddGrpc();
        var dispatched = new StartedOrchestrationService(service, logger: loggers.CreateLogger<StartedOrchestrationService>());
        sidecarBuilder.Services.AddSingleton<IOrchestrationService>(dispatched);
        sidecarBuilder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        sidecarBuilder.Services.AddSingleton<TaskHubGrpcServer>();
        WebApplication sidecar = sidecarBuilder.Build();
        sidecar.MapGrpcService<TaskHubGrpcServer>();
        await sidecar.StartAsync(cancellationToken);
        string address = sidecar.Urls.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
        var channel = GrpcChannel.ForAddress(address);

        HostApplicationBuilder workerBuilder = Host.CreateApplicationBuilder();
        workerBuilder.Logging.ClearProviders();
        workerBuilder.Services.AddSingleton(loggers);
        workerBuilder.AddServiceDefaults("deepslide-local");
        workerBuilder.Services.AddPipelineClients().Configure(c =>
        {
            c.StorageConnection = options.StorageConnection;
            c.CosmosEndpoint = options.CosmosEndpoint;
            c.CosmosKey = options.CosmosKey;
            c.Database = options.Database;
            c.RunsContainer = options.RunsContainer;
            c.RangeQueue = new WorkQueueOptions { QueueName = options.RangeQueue };
            c.RunsRequired = true;
        });
        workerBuilder.Services.AddSingleton(options);
        workerBuilder.Services.AddSingleton(sp => new SlideRunStarter(sp.GetRequiredService<DurableTaskClient>(), sp.GetRequiredService<ISlideRunStore>(), options.RunDefaults));
        workerBuilder.Services.AddDurableTaskWorker(b =>
        {
            b.UseGrpc(channel);
            b.AddTasks(r => r.AddSlideRunTasks());
        });
        workerBuilder.Services.AddDurableTaskClient(b =>
        {
            b.UseGrpc(channel);
            b.RegisterDirectly();
        });
        workerBuilder.Services.AddHostedService(sp => new CompletionRelayService(
            sp.GetRequiredService<StorageAccount>().Queues().GetQueueClient(options.CompletionQueue),
            sp.GetRequiredService<StorageAccount>().Queues().GetQueueClient(options.CompletionQueue + "-poison"),
            sp.GetRequiredService<DurableTaskClient>(),
            options.PollInterval,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<CompletionRelayService>()));
        if (options.WatchSlides)
        {
            workerBuilder.Services.AddHostedService(sp => new SlideWatcherService(
                SlideListing.Probing(options.StorageConnection, ((AzureBlobStore)sp.GetRequiredService<PipelineStores>().Slides).Container.Name),
                sp.GetRequiredService<SlideRunStarter>(),
                options,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<SlideWatcherService>()));
        }

        IHost worker = workerBuilder.Build();
        await worker.StartAsync(cancellationToken);

        // The sidecar starts dispatching once the worker has connected; a host handed out before that could be
        // stopped with nothing started.
        await dispatched.Started.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        return new LocalDurableHost(sidecar, worker, channel, dispatched);
    }

    /// <summary>Waits for a run to reach a final state in the results store.</summary>
    public async Task<SlideRun> WaitForRunAsync(string slideId, string runId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            SlideRun? run = await Runs.GetAsync(slideId, runId, cancellationToken);
            if (run is not null && RunStatus.IsFinal(run.Status))
            {
                return run;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"run {runId} is {run?.Status ?? "not stored"} after {timeout}.");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>
    /// Stops the worker host, then the sidecar (the other way round leaves the worker reconnecting), and waits for the
    /// orchestration service's own stop, which the sidecar starts without awaiting: the emulators a caller stops next
    /// must outlive it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await _worker.StopAsync();
        _worker.Dispose();
        await _channel.ShutdownAsync();
        _channel.Dispose();
        await _sidecar.StopAsync();
        await Task.WhenAny(_dispatched.Stopped, Task.Delay(StartedOrchestrationService.DefaultStopTimeout + TimeSpan.FromSeconds(5)));
        await _sidecar.DisposeAsync();
    }
}
