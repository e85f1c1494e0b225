using Azure.Storage.Blobs;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using DeepSlide.Tiling;
using DeepSlide.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepSlide.Pipeline.Tests;

/// <summary>The worker's range processing on Azurite, checked against classifying the whole slide in one process.</summary>
public sealed class RangeProcessorTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-worker-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string In(string name) => Path.Combine(_folder, name);

    /// <summary>A slide, a random-head bundle and the slide's plan in a fresh container, and the local reference result.</summary>
    private async Task<(AzureBlobStore Store, BlobVersion Slide, SlideResult Local)> SetupAsync()
    {
        AzureBlobStore store = await AzureBlobStore.CreateAsync(new BlobServiceClient(azurite.ConnectionString), $"pipeline-{Guid.NewGuid():N}"[..20]);
        (BlobVersion slide, SlideResult local) = await SetupAsync(new PipelineStores(store, store, store), string.Empty);
        return (store, slide, local);
    }

    /// <summary>The same in the given containers, every blob name starting with <paramref name="prefix"/>.</summary>
    private async Task<(BlobVersion Slide, SlideResult Local)> SetupAsync(PipelineStores stores, string prefix)
    {
        SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("squamous", 2000, 1500, 5)), In("slide.svs"), SyntheticFormat.Aperio);
        var random = new Random(2);
        var head = new SoftmaxModel(3, 512, Enumerable.Range(0, 1536).Select(_ => (float)(random.NextDouble() - 0.5) * 0.05f).ToArray(), [0.1f, 0, -0.1f]);
        ModelBundle bundle = ModelBundle.Save(In("model"), new ModelManifest
        {
            Classes = ["adenocarcinoma", "benign", "squamous"],
            Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, Features = ResNetBackbone.FeaturesName },
        }, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToBytes());
        foreach (string file in new[] { "manifest.json", "model.onnx" })
        {
            await using var stream = File.OpenRead(Path.Combine(bundle.Folder, file));
            await stores.Models.UploadAsync($"{prefix}models/v1/{file}", stream);
        }

        BlobVersion slide;
        await using (var stream = File.OpenRead(In("slide.svs")))
        {
            slide = await stores.Slides.UploadAsync($"{prefix}slides/slide.svs", stream);
        }

        // The reference: deepslide classify's engine on the local file.
        SlideResult local;
        using (PatchClassifier classifier = PatchClassifier.Load(bundle))
        using (ISlideReader reader = SlideReader.Open(In("slide.svs")))
        {
            local = await SlideClassifier.ClassifyAsync(reader, classifier, []);
        }

        await using (var plan = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TilePlanJson.Serialize(local.Plan!))))
        {
            await stores.Results.UploadAsync($"{prefix}plans/run1.json", plan);
        }

        return (slide, local);
    }

    [Fact]
    public async Task Ranges_processed_by_workers_equal_classifying_the_whole_slide_and_a_redelivery_is_harmless()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        using var models = new ModelCache(store, In("models"), new InferenceOptions { BatchSize = 4 });
        var processor = new RangeProcessor(new PipelineStores(store, store, store), new SlideCache(store, In("slides"), 1L << 30), models, In("scratch"));
        IReadOnlyList<TileRange> ranges = local.Plan!.Split(10);
        Assert.True(ranges.Count >= 2);
        foreach (TileRange range in ranges)
        {
            var message = new TileRangeMessage("run1", "slides/slide.svs", slide.ETag, "plans/run1.json", "models/v1", range.Index, range.Start, range.Count);
            RangeOutput output = await processor.ProcessAsync(message);
            Assert.Equal((RangeProcessor.OutputBlob("run1", range.Index), range.Count), (output.Blob, output.Patches));

            string parquet = In($"range-{range.Index}.parquet");
            BlobVersion written = (await store.GetVersionAsync(output.Blob))!;
            await store.DownloadAsync(output.Blob, written.ETag, parquet);
            (long[] x, long[] y, _, float[][] p) = await PatchParquet.ReadAsync(parquet, local.Patches.Classes);
            for (int i = 0; i < range.Count; i++)
            {
                Tile tile = local.Plan.Tiles[range.Start + i];
                Assert.Equal((tile.X, tile.Y), (x[i], y[i]));
                for (int c = 0; c < 3; c++)
                {
                    Assert.Equal(local.Patches.Row(range.Start + i)[c], p[c][i], 1e-6);
                }
            }
        }

        // A redelivered range rewrites its blob with the same rows.
        var again = new TileRangeMessage("run1", "slides/slide.svs", slide.ETag, "plans/run1.json", "models/v1", 0, 0, ranges[0].Count);
        Assert.Equal(RangeProcessor.OutputBlob("run1", 0), (await processor.ProcessAsync(again)).Blob);

        // A range past the plan's end, and a slide replaced after planning, are refused with the reason.
        var outside = again with { Range = 99, Start = local.Plan.Tiles.Count - 1, Count = 5 };
        Assert.Contains("but the plan has", (await Assert.ThrowsAsync<DeepSlideException>(() => processor.ProcessAsync(outside))).Message);
        await using (var replaced = new MemoryStream([1, 2, 3]))
        {
            await store.UploadAsync("slides/slide.svs", replaced);
        }

        var stale = new TileRangeMessage("run2", "slides/slide.svs", slide.ETag, "plans/run1.json", "models/v1", 0, 0, 1);
        var processorWithEmptyCache = new RangeProcessor(new PipelineStores(store, store, store), new SlideCache(store, In("slides2"), 1L << 30), models, In("scratch"));
        Assert.Contains("changed since version", (await Assert.ThrowsAsync<DeepSlideException>(() => processorWithEmptyCache.ProcessAsync(stale))).Message);
    }

    [Fact]
    public async Task The_worker_completes_good_ranges_and_dead_letters_a_corrupt_slide_with_a_failed_notice()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        await using (var text = new MemoryStream("not a slide"u8.ToArray()))
        {
            await store.UploadAsync("slides/bad.svs", text);
        }

        BlobVersion bad = (await store.GetVersionAsync("slides/bad.svs"))!;
        var queues = StorageQueueTransport.ServiceClient(azurite.ConnectionString);
        string suffix = $"{Guid.NewGuid():N}"[..8];
        await using ITileRangeTransport transport = await StorageQueueTransport.CreateAsync(queues, new TileRangeQueueOptions { QueueName = $"ranges-{suffix}" });
        var completionQueue = queues.GetQueueClient($"completions-{suffix}");
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, completionQueue.Name);
        using var models = new ModelCache(store, In("models"), new InferenceOptions());
        var worker = new RangeWorker(transport, new RangeProcessor(new PipelineStores(store, store, store), new SlideCache(store, In("slides"), 1L << 30), models, In("scratch")), sink);

        int count = Math.Min(5, local.Plan!.Tiles.Count);
        await transport.SendAsync(
        [
            new TileRangeMessage("run7", "slides/slide.svs", slide.ETag, "plans/run1.json", "models/v1", 0, 0, count),
            new TileRangeMessage("run7", "slides/bad.svs", bad.ETag, "plans/run1.json", "models/v1", 1, 0, count),
        ]);
        var outcomes = new List<RangeOutcome> { await worker.RunOnceAsync(TimeSpan.FromSeconds(5)), await worker.RunOnceAsync(TimeSpan.FromSeconds(5)) };
        Assert.Equal([RangeOutcome.Completed, RangeOutcome.DeadLettered], outcomes.Order());
        Assert.Equal(RangeOutcome.Idle, await worker.RunOnceAsync(TimeSpan.FromSeconds(1)));

        var notices = (await completionQueue.ReceiveMessagesAsync(10)).Value.Select(m => RangeCompletion.FromJson(m.Body.ToString())).OrderBy(n => n.Range).ToList();
        Assert.Equal(2, notices.Count);
        Assert.Equal((true, RangeProcessor.OutputBlob("run7", 0), count), (notices[0].Succeeded, notices[0].OutputBlob, notices[0].Patches));
        Assert.False(notices[1].Succeeded);
        Assert.Contains("slides/bad.svs", notices[1].Error);
        (TileRangeMessage? deadRange, string reason) = Assert.Single(await transport.PeekDeadLettersAsync(10));
        Assert.Equal("run7:1", deadRange!.MessageId);
        Assert.Equal(notices[1].Error, reason);
    }

    [Fact]
    public async Task An_unexpected_error_on_the_last_delivery_dead_letters_the_range_with_a_failed_notice()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        var queues = StorageQueueTransport.ServiceClient(azurite.ConnectionString);
        string suffix = $"{Guid.NewGuid():N}"[..8];
        var options = new TileRangeQueueOptions { QueueName = $"ranges-{suffix}", MaxDeliveryCount = 2, LockDuration = TimeSpan.FromSeconds(30) };
        await using ITileRangeTransport transport = await StorageQueueTransport.CreateAsync(queues, options);
        var completionQueue = queues.GetQueueClient($"completions-{suffix}");
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, completionQueue.Name);
        using var models = new ModelCache(store, In("models"), new InferenceOptions());
        var broken = new BrokenDownloads(store);
        var worker = new RangeWorker(
            transport,
            new RangeProcessor(new PipelineStores(broken, store, store), new SlideCache(broken, In("slides"), 1L << 30), models, In("scratch")),
            sink,
            lockDuration: options.LockDuration,
            maxDeliveryCount: options.MaxDeliveryCount);
        await transport.SendAsync([new TileRangeMessage("run6", "slides/slide.svs", slide.ETag, "plans/run1.json", "models/v1", 0, 0, Math.Min(5, local.Plan!.Tiles.Count))]);

        // The first delivery is given back (the trouble may pass); the last one ends the range, reported failed.
        Assert.Equal(RangeOutcome.Abandoned, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(RangeOutcome.DeadLettered, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(RangeOutcome.Idle, await worker.RunOnceAsync(TimeSpan.FromSeconds(1)));

        RangeCompletion notice = RangeCompletion.FromJson(Assert.Single((await completionQueue.ReceiveMessagesAsync(10)).Value).Body.ToString());
        Assert.False(notice.Succeeded);
        Assert.Equal(("run6", 0), (notice.RunId, notice.Range));
        Assert.Contains("slides/slide.svs failed on each of its 2 deliveries", notice.Error);
        Assert.Contains("IOException: the disk is on fire", notice.Error);
        Assert.Equal(notice.Error, Assert.Single(await transport.PeekDeadLettersAsync(10)).Reason);
    }

    [Fact]
    public async Task A_failing_receive_leaves_the_worker_running_and_the_next_range_is_taken()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        var queues = StorageQueueTransport.ServiceClient(azurite.ConnectionString);
        string suffix = $"{Guid.NewGuid():N}"[..8];
        var options = new TileRangeQueueOptions { QueueName = $"ranges-{suffix}" };
        await using ITileRangeTransport transport = await StorageQueueTransport.CreateAsync(queues, options);
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, $"completions-{suffix}");
        using var models = new ModelCache(store, In("models"), new InferenceOptions());
        var worker = new RangeWorker(
            new FailingFirstReceive(transport),
            new RangeProcessor(new PipelineStores(store, store, store), new SlideCache(store, In("slides"), 1L << 30), models, In("scratch")),
            sink);
        await queues.GetQueueClient(options.QueueName).SendMessageAsync("garbage");
        await transport.SendAsync([new TileRangeMessage("run5", "slides/slide.svs", slide.ETag, "plans/run1.json", "models/v1", 0, 0, Math.Min(3, local.Plan!.Tiles.Count))]);

        Assert.Equal(RangeOutcome.Idle, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(RangeOutcome.Completed, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
        Assert.Null(Assert.Single(await transport.PeekDeadLettersAsync(10)).Message);
    }

    [Fact]
    public void The_worker_s_services_are_built_without_touching_storage()
    {
        // Nothing listens on port 9: a factory that created containers or queues would fail or hang on retries here.
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Worker:StorageConnection"] = DeepSlide.Pipeline.Local.Azurite.ConnectionStringFor(9, 9, 9),
            ["Worker:CacheFolder"] = In("unreached"),
        });
        DeepSlide.Worker.Extensions.Extensions.AddApplicationServices(builder);
        using IHost host = builder.Build();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.NotNull(host.Services.GetRequiredService<PipelineStores>());
        Assert.NotNull(host.Services.GetRequiredService<ITileRangeTransport>());
        Assert.NotNull(host.Services.GetRequiredService<IRangeCompletionSink>());
        Assert.NotNull(host.Services.GetRequiredService<RangeWorker>());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"building the services took {watch.Elapsed}");
    }

    [Fact]
    public async Task A_model_load_that_fails_once_succeeds_on_the_next_call()
    {
        (AzureBlobStore store, _, _) = await SetupAsync();
        var flaky = new FailingFirstDownload(store);
        using var models = new ModelCache(flaky, In("models"), new InferenceOptions());

        Assert.Equal("the network dropped", (await Assert.ThrowsAsync<IOException>(() => models.GetAsync("models/v1"))).Message);
        PatchClassifier classifier = await models.GetAsync("models/v1");
        Assert.Same(classifier, await models.GetAsync("models/v1"));

        // A caller that gives up does not cancel the load for the others.
        using var models2 = new ModelCache(store, In("models2"), new InferenceOptions());
        using var giveUp = new CancellationTokenSource();
        Task<PatchClassifier> first = models2.GetAsync("models/v1", giveUp.Token);
        Task<PatchClassifier> second = models2.GetAsync("models/v1");
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.NotNull(await second);
    }

    // A model store whose first download fails as a dropped connection would.
    private sealed class FailingFirstDownload(IBlobStore inner) : IBlobStore
    {
        private int _downloads;

        public Task<BlobVersion?> GetVersionAsync(string name, CancellationToken cancellationToken = default) => inner.GetVersionAsync(name, cancellationToken);

        public Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _downloads) == 1 ? throw new IOException("the network dropped") : inner.DownloadAsync(name, etag, path, cancellationToken);

        public Task<BlobVersion> UploadAsync(string name, Stream content, CancellationToken cancellationToken = default) => inner.UploadAsync(name, content, cancellationToken);
    }

    // A queue that cannot be reached on the first call.
    private sealed class FailingFirstReceive(ITileRangeTransport inner) : ITileRangeTransport
    {
        private int _calls;

        public Task SendAsync(IReadOnlyList<TileRangeMessage> ranges, CancellationToken cancellationToken = default) => inner.SendAsync(ranges, cancellationToken);

        public Task<ReceivedTileRange?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _calls) == 1 ? throw new HttpRequestException("connection refused") : inner.ReceiveAsync(maxWait, cancellationToken);

        public Task<IReadOnlyList<(TileRangeMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default) => inner.PeekDeadLettersAsync(max, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    // A slide store whose downloads fail with an error no step expects.
    private sealed class BrokenDownloads(IBlobStore inner) : IBlobStore
    {
        public Task<BlobVersion?> GetVersionAsync(string name, CancellationToken cancellationToken = default) => inner.GetVersionAsync(name, cancellationToken);

        public Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default) => throw new IOException("the disk is on fire");

        public Task<BlobVersion> UploadAsync(string name, Stream content, CancellationToken cancellationToken = default) => inner.UploadAsync(name, content, cancellationToken);
    }

    [Fact]
    public async Task A_worker_stopped_mid_range_gives_the_range_back_at_once()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        var queues = StorageQueueTransport.ServiceClient(azurite.ConnectionString);
        string suffix = $"{Guid.NewGuid():N}"[..8];
        var options = new TileRangeQueueOptions { QueueName = $"ranges-{suffix}", LockDuration = TimeSpan.FromSeconds(60) };
        await using ITileRangeTransport transport = await StorageQueueTransport.CreateAsync(queues, options);
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, $"completions-{suffix}");
        using var models = new ModelCache(store, In("models"), new InferenceOptions());
        using var stopping = new CancellationTokenSource();
        var worker = new RangeWorker(
            new StopOnReceive(transport, stopping),
            new RangeProcessor(new PipelineStores(store, store, store), new SlideCache(store, In("slides"), 1L << 30), models, In("scratch")),
            sink,
            lockDuration: options.LockDuration);
        await transport.SendAsync([new TileRangeMessage("run8", "slides/slide.svs", slide.ETag, "plans/run1.json", "models/v1", 0, 0, Math.Min(5, local.Plan!.Tiles.Count))]);

        Assert.Equal(RangeOutcome.Abandoned, await worker.RunOnceAsync(TimeSpan.FromSeconds(5), stopping.Token));

        // Without the give-back the range would stay hidden for its 60 s lock.
        ReceivedTileRange? again = await transport.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(again);
        Assert.Equal(("run8", 2), (again.Message.RunId, again.DeliveryCount));
    }

    // The worker's host is told to stop the moment the worker holds a range.
    private sealed class StopOnReceive(ITileRangeTransport inner, CancellationTokenSource stopping) : ITileRangeTransport
    {
        public Task SendAsync(IReadOnlyList<TileRangeMessage> ranges, CancellationToken cancellationToken = default) => inner.SendAsync(ranges, cancellationToken);

        public async Task<ReceivedTileRange?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
        {
            ReceivedTileRange? received = await inner.ReceiveAsync(maxWait, cancellationToken);
            await stopping.CancelAsync();
            return received;
        }

        public Task<IReadOnlyList<(TileRangeMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default) => inner.PeekDeadLettersAsync(max, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task The_worker_host_takes_a_range_from_the_queue_and_reports_it_done()
    {
        string suffix = $"{Guid.NewGuid():N}"[..8];
        PipelineStores stores = await new StorageAccount(azurite.ConnectionString).StoresAsync();
        (BlobVersion slide, SlideResult local) = await SetupAsync(stores, $"{suffix}/");
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Worker:StorageConnection"] = azurite.ConnectionString,
            ["Worker:RangeQueue"] = $"ranges-{suffix}",
            ["Worker:CompletionQueue"] = $"done-{suffix}",
            ["Worker:CacheFolder"] = In("host-cache"),
            ["Worker:BatchSize"] = "8",
        });
        DeepSlide.Worker.Extensions.Extensions.AddApplicationServices(builder);
        using IHost host = builder.Build();
        await host.StartAsync();
        try
        {
            var queues = StorageQueueTransport.ServiceClient(azurite.ConnectionString);
            await using ITileRangeTransport sender = await StorageQueueTransport.CreateAsync(queues, new TileRangeQueueOptions { QueueName = $"ranges-{suffix}" });
            int count = Math.Min(6, local.Plan!.Tiles.Count);
            await sender.SendAsync([new TileRangeMessage("run9", $"{suffix}/slides/slide.svs", slide.ETag, $"{suffix}/plans/run1.json", $"{suffix}/models/v1", 0, 0, count)]);

            // The worker makes its notice queue on its first notice; the reader makes sure it is there too.
            var done = queues.GetQueueClient($"done-{suffix}");
            await done.CreateIfNotExistsAsync();
            RangeCompletion? notice = null;
            for (var deadline = DateTime.UtcNow.AddSeconds(60); notice is null && DateTime.UtcNow < deadline;)
            {
                Azure.Storage.Queues.Models.QueueMessage? message = (await done.ReceiveMessageAsync()).Value;
                notice = message is null ? null : RangeCompletion.FromJson(message.Body.ToString());
                if (notice is null)
                {
                    await Task.Delay(250);
                }
            }

            Assert.NotNull(notice);
            Assert.True(notice.Succeeded, notice.Error);
            Assert.Equal((RangeProcessor.OutputBlob("run9", 0), count), (notice.OutputBlob, notice.Patches));
            Assert.NotNull(await stores.Results.GetVersionAsync(notice.OutputBlob!));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
