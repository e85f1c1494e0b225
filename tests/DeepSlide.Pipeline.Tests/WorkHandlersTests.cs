using DeepSlide.Pipeline.Slides;
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
using DeepSlide.Slides.Tiff;
using DeepSlide.Synthesis;
using DeepSlide.Tiling;
using DeepSlide.Pipeline.Work;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepSlide.Pipeline.Tests;

/// <summary>The workers' handlers and loop on Azurite, checked against classifying the whole slide in one process.</summary>
public sealed class WorkHandlersTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-worker-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string In(string name) => Path.Combine(_folder, name);

    /// <summary>A slide, a random-head bundle and the slide's plan in a fresh container, and the local reference result.</summary>
    private async Task<(AzureBlobStore Store, BlobVersion Slide, SlideResult Local)> SetupAsync(SyntheticFormat format = SyntheticFormat.Aperio, string? tiffcp = null, int width = 2000, int height = 1500)
    {
        AzureBlobStore store = await AzureBlobStore.CreateAsync(new BlobServiceClient(azurite.ConnectionString), $"pipeline-{Guid.NewGuid():N}"[..20]);
        (BlobVersion slide, SlideResult local) = await SetupAsync(new PipelineStores(store, store, store), string.Empty, format, tiffcp, width, height);
        return (store, slide, local);
    }

    /// <summary>The same in the given containers, every blob name starting with <paramref name="prefix"/>.</summary>
    private async Task<(BlobVersion Slide, SlideResult Local)> SetupAsync(PipelineStores stores, string prefix, SyntheticFormat format = SyntheticFormat.Aperio, string? tiffcp = null, int width = 2000, int height = 1500)
    {
        SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("squamous", width, height, 5)), In("slide.svs"), format);
        if (tiffcp == "strips")
        {
            // The same pixels as one strip-organised image: no pyramid, no tiles.
            var rgb = new byte[width * height * 3];
            using (ISlideReader source = SlideReader.Open(In("slide.svs")))
            {
                source.ReadRegion(0, 0, 0, width, height, rgb);
            }

            await File.WriteAllBytesAsync(In("slide.svs"), DeepSlide.Tests.Shared.TiffBuilder.Stripped(rgb, width, height, 64));
        }
        else if (tiffcp is not null)
        {
            // The same slide rewritten by libtiff's tiffcp: -8 BigTIFF, -s strips instead of tiles.
            File.Move(In("slide.svs"), In("original.tif"), overwrite: true);
            using var convert = System.Diagnostics.Process.Start("tiffcp", [.. tiffcp.Split(' '), In("original.tif"), In("slide.svs")])!;
            await convert.WaitForExitAsync();
            Assert.Equal(0, convert.ExitCode);
        }

        var random = new Random(2);
        var head = new SoftmaxModel(3, 512, Enumerable.Range(0, 1536).Select(_ => (float)(random.NextDouble() - 0.5) * 0.05f).ToArray(), [0.1f, 0, -0.1f]);
        ModelBundle bundle = ModelBundle.Save(In("model"), new ModelManifest
        {
            Classes = ["adenocarcinoma", "benign", "squamous"],
            Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, Features = ResNetBackbone.FeaturesName },
        }, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToByteArray());
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
        using (PatchClassifier classifier = PatchClassifier.Load(bundle, new InferenceOptions { Device = ExecutionDevice.Cpu }))
        using (ISlideReader reader = SlideReader.Open(In("slide.svs")))
        {
            local = await SlideClassifier.ClassifyAsync(reader, classifier, Aggregators.FromManifest(bundle.Manifest));
        }

        await using (var plan = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(TilePlanJson.Serialize(local.Plan!))))
        {
            await stores.Results.UploadAsync($"{prefix}plans/run1.json", plan);
        }

        return (slide, local);
    }

    [Fact]
    public async Task Ranges_and_their_aggregate_done_by_workers_equal_classifying_the_whole_slide_and_a_redelivery_is_harmless()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu, BatchSize = 4 });
        using var handlers = new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "slides"), models, In("scratch"));
        IReadOnlyList<TileRange> ranges = local.Plan!.Split(10);
        Assert.True(ranges.Count >= 2);
        foreach (TileRange range in ranges)
        {
            WorkCompletion output = await handlers.HandleAsync(Message("run1", slide, range));
            Assert.Equal((RunBlobs.Range("run1", range.Index), range.Count), (output.OutputBlob, output.Patches));

            string parquet = In($"range-{range.Index}.parquet");
            BlobVersion written = (await store.GetVersionAsync(output.OutputBlob!))!;
            await store.DownloadAsync(output.OutputBlob!, written.ETag, parquet);
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
        WorkMessage again = Message("run1", slide, ranges[0]);
        Assert.Equal(RunBlobs.Range("run1", 0), (await handlers.HandleAsync(again)).OutputBlob);

        // The aggregate step merges the ranges into classify's predictions, row for row, and makes classify's calls.
        WorkCompletion aggregated = await handlers.HandleAsync(again with { Work = WorkItem.Aggregate, RangeSize = 10 });
        Assert.Equal(local.Patches.Count, aggregated.Patches);
        string merged = In("merged.parquet");
        await store.DownloadAsync(RunBlobs.Patches("run1"), (await store.GetVersionAsync(RunBlobs.Patches("run1")))!.ETag, merged);
        PatchProbabilities mergedPatches = await PatchParquet.ReadProbabilitiesAsync(merged, local.Patches.Classes);
        Assert.Equal(local.Patches.Values.ToArray(), mergedPatches.Values.ToArray());
        Assert.Equal(
            local.Calls.Select(c => (c.Method, c.Label)),
            aggregated.Calls!.Calls.Select(c => (c.Method, c.Label)));
        Assert.Equal(["adenocarcinoma", "benign", "squamous"], aggregated.Calls.Model.Classes);

        // The same step draws the pictures from what it merged, reading the slide's thumbnail level only.
        Assert.True(aggregated.Files >= 3, $"{aggregated.Files} pictures");
        foreach (string picture in (string[])["overlays/slide.png", "masks/slide.png", "qupath/slide.geojson"])
        {
            Assert.NotNull(await store.GetVersionAsync($"{RunBlobs.Pictures("run1")}/{picture}"));
        }

        Assert.Equal(slide.Length, aggregated.SlideBytes);

        // A range past the plan's end, and a slide replaced after planning, are refused with the reason.
        WorkMessage outside = Message("run1", slide, new TileRange(99, local.Plan.Tiles.Count - 1, 5));
        Assert.Contains("is outside the plan's", (await Assert.ThrowsAsync<DeepSlideException>(() => handlers.HandleAsync(outside))).Message);
        await using (var replaced = new MemoryStream([1, 2, 3]))
        {
            await store.UploadAsync("slides/slide.svs", replaced);
        }

        WorkMessage stale = Message("run2", slide, new TileRange(0, 0, 1));
        using var handlersWithEmptyCache = new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "slides2"), models, In("scratch"));
        Assert.Contains("changed since version", (await Assert.ThrowsAsync<DeepSlideException>(() => handlersWithEmptyCache.HandleAsync(stale))).Message);
    }

    [Fact]
    public async Task A_range_whose_stored_output_does_not_fit_the_plan_fails_the_aggregate_step_naming_the_blob()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu, BatchSize = 4 });
        using var handlers = new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "slides"), models, In("scratch"));
        IReadOnlyList<TileRange> ranges = local.Plan!.Split(10);
        foreach (TileRange range in ranges)
        {
            await handlers.HandleAsync(Message("run3", slide, range));
        }

        // Cut differently from how the ranges were: each output has 10 rows where 12 are expected.
        WorkMessage aggregate = Message("run3", slide, ranges[0]) with { Work = WorkItem.Aggregate, RangeSize = 12 };
        var error = await Assert.ThrowsAsync<DeepSlideException>(() => handlers.HandleAsync(aggregate));
        // Ranges are read several at once, so whichever misfit is found first is reported; the last one is shorter.
        System.Text.RegularExpressions.Match misfit = System.Text.RegularExpressions.Regex.Match(error.Message, @"^runs/run3/ranges/(\d{5})\.parquet: range (\d+) has (\d+) patches; the plan gives it (\d+)\.$");
        Assert.True(misfit.Success, error.Message);
        Assert.Equal(int.Parse(misfit.Groups[1].Value), int.Parse(misfit.Groups[2].Value));
        Assert.NotEqual(misfit.Groups[3].Value, misfit.Groups[4].Value);
    }

    [Theory]
    [InlineData(SyntheticFormat.Aperio, null, "aperio")]
    [InlineData(SyntheticFormat.Tiff, null, "generic-tiff")]
    [InlineData(SyntheticFormat.Tiff, "-8", "BigTIFF")]
    public async Task Workers_that_fetch_only_their_tiles_bytes_predict_exactly_what_classify_does_on_the_whole_file(SyntheticFormat format, string? tiffcp, string what)
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync(format, tiffcp, 6000, 4000);
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu, BatchSize = 8 });
        IReadOnlyList<TileRange> ranges = local.Plan!.Split(Math.Max(8, local.Plan.Tiles.Count / 6));
        TiffByteMap map;
        using (FileStream file = File.OpenRead(In("slide.svs")))
        {
            map = TiffByteMap.Read(file, what)!;
        }

        var (probabilities, fetched) = (new List<float>(), 0L);
        foreach (TileRange range in ranges)
        {
            // Each range on a worker of its own: nothing of the slide is on its disk before.
            using var handlers = new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, $"w{range.Index}"), models, In($"scratch{range.Index}"));
            WorkCompletion done = await handlers.HandleAsync(Message("run1", slide, range));
            Assert.Null(done.WholeSlideBecause);
            Assert.Equal(slide.Length, done.SlideBytes);
            fetched += done.SlideBytesFetched;

            // Under twice what the range needs: its tiles at the plan's level, the smallest level, and the 64 KiB
            // blocks of structure (header, directories, tag values) that every open of the file reads.
            TiffDataLayout level = map.Levels[local.Plan.Level];
            long tileBytes = local.Plan.TilesOf(range).SelectMany(t => level.TilesCovering(t.X - 2, t.Y - 2, t.X + 226, t.Y + 226)).Distinct().Sum(t => t.Length);
            long structure = (map.Directories.Count + 1) * 64L * 1024;
            long needed = tileBytes + map.Levels[^1].All().Sum(t => t.Length) + structure;
            Assert.True(done.SlideBytesFetched < 2 * needed, $"{what}: range {range.Index} fetched {done.SlideBytesFetched} bytes for {needed} needed");
            probabilities.AddRange(await ReadProbabilitiesAsync(store, RunBlobs.Range("run1", range.Index), local));
        }

        // Bit for bit the whole file's predictions (both on the CPU, whose kernels do not depend on the batch), and
        // together less than every worker downloading the slide.
        Assert.Equal(local.Patches.Values.ToArray(), probabilities.ToArray());
        Assert.True(fetched < ranges.Count * slide.Length, $"{what}: {fetched} bytes moved for {ranges.Count} ranges of a {slide.Length}-byte slide");
    }

    [Fact]
    public async Task A_strip_organised_TIFF_is_read_whole_saying_so_and_predicts_the_same()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync(SyntheticFormat.Tiff, "strips");
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu, BatchSize = 8 });
        using var handlers = new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "w"), models, In("scratch"));
        TileRange all = new(0, 0, local.Plan!.Tiles.Count);
        WorkCompletion done = await handlers.HandleAsync(Message("run1", slide, all));
        Assert.Equal("its full-resolution image is stored in strips, not tiles", done.WholeSlideBecause);
        Assert.Equal(slide.Length, done.SlideBytesFetched);
        Assert.Equal(local.Patches.Values.ToArray(), await ReadProbabilitiesAsync(store, RunBlobs.Range("run1", 0), local));
    }

    [Fact]
    public async Task A_truncated_blob_and_a_blob_replaced_between_ranges_are_refused_naming_the_slide()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync(SyntheticFormat.Aperio, null, 6000, 4000);
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu, BatchSize = 8 });
        IReadOnlyList<TileRange> ranges = local.Plan!.Split(Math.Max(8, local.Plan.Tiles.Count / 4));

        // The first range reads its bytes; then the slide is replaced, and the next range on the same worker needs
        // bytes of the new version: refused, never mixed.
        using (var handlers = new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "w1"), models, In("scratch1")))
        {
            await handlers.HandleAsync(Message("run1", slide, ranges[0]));
            byte[] whole = await File.ReadAllBytesAsync(In("slide.svs"));
            await using (var replaced = new MemoryStream(whole))
            {
                await store.UploadAsync("slides/slide.svs", replaced);
            }

            var changed = await Assert.ThrowsAsync<DeepSlideException>(() => handlers.HandleAsync(Message("run1", slide, ranges[^1])));
            Assert.Contains("slides/slide.svs", changed.Message);
            Assert.Contains("changed since version", changed.Message);

            // The file cut at two thirds: its last tiles lie past the end.
            await using (var cut = new MemoryStream(whole[..(whole.Length * 2 / 3)]))
            {
                BlobVersion truncated = await store.UploadAsync("slides/slide.svs", cut);
                using var fresh = new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "w2"), models, In("scratch2"));
                var error = await Assert.ThrowsAsync<DeepSlideException>(() => fresh.HandleAsync(Message("run2", truncated, ranges[^1])));
                Assert.Contains("slides/slide.svs", error.Message);
                Assert.Contains("truncated", error.Message);
            }
        }
    }

    [Fact]
    public async Task Sparse_slides_beyond_their_share_of_the_disk_are_deleted_least_recently_used_first()
    {
        (AzureBlobStore store, BlobVersion first, _) = await SetupAsync();
        BlobVersion second;
        await using (FileStream copy = File.OpenRead(In("slide.svs")))
        {
            second = await store.UploadAsync("slides/second.svs", copy);
        }

        var sparse = new SparseSlides(store, new SlideCache(store, In("whole"), 1L << 30), In("sparse"), maxBytes: 1);
        static IEnumerable<(long, long)> Smallest(TiffByteMap map) => map.Levels[^1].All();
        SlideRead a = await sparse.GetAsync("slides/slide.svs", first.ETag, Smallest);
        Assert.InRange(a.BytesFetched, 1, first.Length - 1);
        SlideRead b = await sparse.GetAsync("slides/second.svs", second.ETag, Smallest);
        Assert.False(File.Exists(a.Path), "the older slide's sparse file is gone");
        Assert.True(File.Exists(b.Path));
        Assert.Equal(first.Length, new FileInfo(b.Path).Length);
    }

    [Fact]
    public async Task A_slide_fetched_again_after_its_sparse_file_was_evicted_gets_a_new_file_so_no_open_reader_is_stale()
    {
        (AzureBlobStore store, BlobVersion first, _) = await SetupAsync();
        BlobVersion second;
        await using (FileStream copy = File.OpenRead(In("slide.svs")))
        {
            second = await store.UploadAsync("slides/second-e.svs", copy);
        }

        var sparse = new SparseSlides(store, new SlideCache(store, In("whole-e"), 1L << 30), In("sparse-e"), capacity: 1);
        using var readers = new SlideReaders();
        static IEnumerable<(long, long)> Smallest(TiffByteMap map) => map.Levels[^1].All();
        static IEnumerable<(long, long)> Level0(TiffByteMap map) => map.Levels[0].All();
        SlideRead before = await sparse.GetAsync("slides/slide.svs", first.ETag, Smallest);
        using SlideReaders.Lease held = readers.Open(before.Path);
        await sparse.GetAsync("slides/second-e.svs", second.ETag, Smallest);

        // The first slide again, now with its full-resolution tiles: a reader on the old file would read holes there.
        SlideRead after = await sparse.GetAsync("slides/slide.svs", first.ETag, Level0);
        Assert.NotEqual(before.Path, after.Path);
        using SlideReaders.Lease fresh = readers.Open(after.Path);
        Assert.NotSame(held.Reader, fresh.Reader);
        var pixels = new byte[64 * 64 * 3];
        using ISlideReader whole = SlideReader.Open(In("slide.svs"));
        var expected = new byte[64 * 64 * 3];
        whole.ReadRegion(0, 512, 512, 64, 64, expected);
        fresh.Reader.ReadRegion(0, 512, 512, 64, 64, pixels);
        Assert.Equal(expected, pixels);
    }

    [Fact]
    public async Task A_whole_download_that_fails_midway_leaves_no_partial_file_and_a_new_cache_starts_empty()
    {
        (AzureBlobStore store, BlobVersion slide, _) = await SetupAsync();
        string folder = In("whole-p");
        var cache = new SlideCache(new BrokenMidway(store), folder, 1L << 30);
        await Assert.ThrowsAsync<IOException>(() => cache.GetAsync("slides/slide.svs", slide.ETag));
        Assert.Empty(Directory.EnumerateFiles(folder));

        await File.WriteAllTextAsync(Path.Combine(folder, "left-by-an-earlier-process.svs"), "old");
        _ = new SlideCache(store, folder, 1L << 30);
        Assert.Empty(Directory.EnumerateFiles(folder));
    }

    // A download that writes part of the file and then loses the connection.
    private sealed class BrokenMidway(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        public override async Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default)
        {
            await File.WriteAllBytesAsync(path, new byte[4096], cancellationToken);
            throw new IOException("the connection dropped");
        }
    }

    [Fact]
    public async Task Concurrent_reads_of_overlapping_tiles_fetch_each_byte_once_in_bounded_reads()
    {
        (AzureBlobStore azurite, BlobVersion slide, _) = await SetupAsync();
        var store = new CountingReads(azurite);
        var sparse = new SparseSlides(store, new SlideCache(store, In("whole-c"), 1L << 30), In("sparse-c"));
        static IEnumerable<(long, long)> Level0(TiffByteMap map) => map.Levels[0].All();

        // A viewer's neighbouring tiles ask for the same TIFF tiles at the same moment.
        SlideRead[] reads = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Task.Run(() => sparse.GetAsync("slides/slide.svs", slide.ETag, Level0))));
        Assert.Equal(store.Bytes, reads.Sum(r => r.BytesFetched));
        Assert.InRange(store.Bytes, 1, slide.Length);
        Assert.True(store.Largest <= 4 << 20, $"one ranged read of {store.Largest} bytes");
    }

    // Counts the bytes of ranged reads and the largest one.
    private sealed class CountingReads(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        private long _bytes;
        private long _largest;

        public long Bytes => Interlocked.Read(ref _bytes);

        public long Largest => Interlocked.Read(ref _largest);

        public override async Task<int> ReadRangeAsync(string name, string etag, long offset, Memory<byte> into, CancellationToken cancellationToken = default)
        {
            int read = await Inner.ReadRangeAsync(name, etag, offset, into, cancellationToken);
            Interlocked.Add(ref _bytes, read);
            long largest;
            while (read > (largest = Interlocked.Read(ref _largest)) && Interlocked.CompareExchange(ref _largest, read, largest) != largest)
            {
            }

            return read;
        }
    }

    private async Task<float[]> ReadProbabilitiesAsync(AzureBlobStore store, string blob, SlideResult local)
    {
        string parquet = In($"{Guid.NewGuid():N}.parquet");
        await store.DownloadAsync(blob, (await store.GetVersionAsync(blob))!.ETag, parquet);
        return (await PatchParquet.ReadProbabilitiesAsync(parquet, local.Patches.Classes)).Values.ToArray();
    }

    private SparseSlides Sparse(IBlobStore store, string name) => new(store, new SlideCache(store, In(name), 1L << 30), In(name + "-sparse"));

    private static WorkMessage Message(string runId, BlobVersion slide, TileRange range, string prefix = "") =>
        new(runId, $"{prefix}slides/slide.svs", slide.ETag, $"{prefix}plans/run1.json", $"{prefix}models/v1", WorkItem.ForRange(range));

    [Fact]
    public async Task The_worker_completes_good_ranges_and_dead_letters_a_corrupt_slide_with_a_failed_notice()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        await using (var text = new MemoryStream("not a slide"u8.ToArray()))
        {
            await store.UploadAsync("slides/bad.svs", text);
        }

        BlobVersion bad = (await store.GetVersionAsync("slides/bad.svs"))!;
        var queues = new StorageAccount(azurite.ConnectionString).Queues();
        string suffix = $"{Guid.NewGuid():N}"[..8];
        await using IWorkTransport transport = await StorageQueueTransport.CreateAsync(queues, new WorkQueueOptions { QueueName = $"ranges-{suffix}" });
        var completionQueue = queues.GetQueueClient($"completions-{suffix}");
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, completionQueue.Name);
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu });
        var worker = new WorkLoop(transport, new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "slides"), models, In("scratch")), sink);

        int count = Math.Min(5, local.Plan!.Tiles.Count);
        await transport.SendAsync(
        [
            Message("run7", slide, new TileRange(0, 0, count)),
            Message("run7", slide, new TileRange(1, 0, count)) with { SlideBlob = "slides/bad.svs", SlideETag = bad.ETag },
        ]);
        var outcomes = new List<WorkOutcome> { await worker.RunOnceAsync(TimeSpan.FromSeconds(5)), await worker.RunOnceAsync(TimeSpan.FromSeconds(5)) };
        Assert.Equal([WorkOutcome.Completed, WorkOutcome.DeadLettered], outcomes.Order());
        Assert.Equal(WorkOutcome.Idle, await worker.RunOnceAsync(TimeSpan.FromSeconds(1)));

        var notices = (await completionQueue.ReceiveMessagesAsync(10)).Value.Select(m => WorkCompletion.FromJson(m.Body.ToString())).OrderBy(n => n.Work.Key).ToList();
        Assert.Equal(2, notices.Count);
        Assert.Equal((true, RunBlobs.Range("run7", 0), count), (notices[0].Succeeded, notices[0].OutputBlob, notices[0].Patches));
        Assert.False(notices[1].Succeeded);
        Assert.Contains("slides/bad.svs", notices[1].Error);
        (WorkMessage? deadRange, string reason) = Assert.Single(await transport.PeekDeadLettersAsync(10));
        Assert.Equal("run7:range:1", deadRange!.MessageId);
        Assert.Equal(notices[1].Error, reason);
    }

    [Fact]
    public async Task An_unexpected_error_on_the_last_delivery_dead_letters_the_range_with_a_failed_notice()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        var queues = new StorageAccount(azurite.ConnectionString).Queues();
        string suffix = $"{Guid.NewGuid():N}"[..8];
        var options = new WorkQueueOptions { QueueName = $"ranges-{suffix}", MaxDeliveryCount = 2, LockDuration = TimeSpan.FromSeconds(30) };
        await using IWorkTransport transport = await StorageQueueTransport.CreateAsync(queues, options);
        var completionQueue = queues.GetQueueClient($"completions-{suffix}");
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, completionQueue.Name);
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu });
        var broken = new BrokenDownloads(store);
        var worker = new WorkLoop(
            transport,
            new WorkHandlers(new PipelineStores(broken, store, store), Sparse(broken, "slides"), models, In("scratch")),
            sink,
            lockDuration: options.LockDuration,
            maxDeliveryCount: options.MaxDeliveryCount);
        await transport.SendAsync([Message("run6", slide, new TileRange(0, 0, Math.Min(5, local.Plan!.Tiles.Count)))]);

        // The first delivery is given back (the trouble may pass); the last one ends the range, reported failed.
        Assert.Equal(WorkOutcome.Abandoned, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(WorkOutcome.DeadLettered, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(WorkOutcome.Idle, await worker.RunOnceAsync(TimeSpan.FromSeconds(1)));

        WorkCompletion notice = WorkCompletion.FromJson(Assert.Single((await completionQueue.ReceiveMessagesAsync(10)).Value).Body.ToString());
        Assert.False(notice.Succeeded);
        Assert.Equal(("run6", "range:0"), (notice.RunId, notice.Work.Key));
        Assert.Contains("slides/slide.svs failed on each of its 2 deliveries", notice.Error);
        Assert.Contains("IOException: the disk is on fire", notice.Error);
        Assert.Equal(notice.Error, Assert.Single(await transport.PeekDeadLettersAsync(10)).Reason);
    }

    [Fact]
    public async Task A_failing_receive_leaves_the_worker_running_and_the_next_range_is_taken()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        var queues = new StorageAccount(azurite.ConnectionString).Queues();
        string suffix = $"{Guid.NewGuid():N}"[..8];
        var options = new WorkQueueOptions { QueueName = $"ranges-{suffix}" };
        await using IWorkTransport transport = await StorageQueueTransport.CreateAsync(queues, options);
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, $"completions-{suffix}");
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu });
        var worker = new WorkLoop(
            new FailingFirstReceive(transport),
            new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "slides"), models, In("scratch")),
            sink);
        await queues.GetQueueClient(options.QueueName).SendMessageAsync("garbage");
        await transport.SendAsync([Message("run5", slide, new TileRange(0, 0, Math.Min(3, local.Plan!.Tiles.Count)))]);

        Assert.Equal(WorkOutcome.Idle, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(WorkOutcome.Completed, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
        Assert.Null(Assert.Single(await transport.PeekDeadLettersAsync(10)).Message);
    }

    [Fact]
    public async Task A_piece_that_cannot_be_settled_is_left_to_its_lock_and_the_worker_goes_on()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        var queues = new StorageAccount(azurite.ConnectionString).Queues();
        string suffix = $"{Guid.NewGuid():N}"[..8];
        var options = new WorkQueueOptions { QueueName = $"ranges-{suffix}" };
        await using IWorkTransport transport = await StorageQueueTransport.CreateAsync(queues, options);
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, $"completions-{suffix}");
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu });
        var worker = new WorkLoop(
            new UnsettleableOnce(transport),
            new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "slides-u"), models, In("scratch")),
            sink);

        // A piece whose slide is gone (dead-lettered) and a good one: settling the first fails, as a queue that went away would.
        await transport.SendAsync([Message("run7", slide, new TileRange(0, 0, 2)) with { SlideBlob = "slides/gone.svs" }]);
        await transport.SendAsync([Message("run8", slide, new TileRange(0, 0, Math.Min(3, local.Plan!.Tiles.Count)))]);
        Assert.Equal(WorkOutcome.DeadLettered, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(WorkOutcome.Completed, await worker.RunOnceAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_handler_that_hangs_makes_the_worker_unhealthy_although_its_lock_is_still_renewed()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        var queues = new StorageAccount(azurite.ConnectionString).Queues();
        string suffix = $"{Guid.NewGuid():N}"[..8];
        var options = new WorkQueueOptions { QueueName = $"ranges-{suffix}", LockDuration = TimeSpan.FromSeconds(2) };
        await using IWorkTransport transport = await StorageQueueTransport.CreateAsync(queues, options);
        var renewals = new CountingRenewals(transport);
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, $"completions-{suffix}");
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu });
        var clock = new ManualClock();
        var health = new WorkerHealth(options.LockDuration, clock);
        var hanging = new HangingReads(store);
        var worker = new WorkLoop(
            renewals,
            new WorkHandlers(new PipelineStores(hanging, store, store), Sparse(hanging, "slides-h"), models, In("scratch")) { Progressed = health.Beat },
            sink,
            lockDuration: options.LockDuration,
            health: health);
        await transport.SendAsync([Message("run9", slide, new TileRange(0, 0, Math.Min(8, local.Plan!.Tiles.Count)))]);

        Task<WorkOutcome> running = worker.RunOnceAsync(TimeSpan.FromSeconds(5));
        await hanging.Entered.Task;
        clock.Advance(health.StaleAfter + TimeSpan.FromSeconds(1));
        renewals.Forget();
        await renewals.Renewed(2);
        Assert.False(health.IsHealthy, "lock renewals kept a hung handler looking alive");

        // Once the reads go on, the batches beat again.
        hanging.Release.SetResult();
        Assert.Equal(WorkOutcome.Completed, await running);
        Assert.True(health.IsHealthy);
    }

    // A slide store whose reads wait until the test lets them go.
    private sealed class HangingReads(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            await Inner.DownloadAsync(name, etag, path, cancellationToken);
        }

        public override async Task<int> ReadRangeAsync(string name, string etag, long offset, Memory<byte> into, CancellationToken cancellationToken = default)
        {
            Entered.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            return await Inner.ReadRangeAsync(name, etag, offset, into, cancellationToken);
        }
    }

    // A transport that counts the lock renewals of the pieces it hands out.
    private sealed class CountingRenewals(IWorkTransport inner) : IWorkTransport
    {
        private readonly SemaphoreSlim _renewed = new(0);

        /// <summary>Counts only renewals from now on.</summary>
        public void Forget()
        {
            while (_renewed.Wait(0))
            {
            }
        }

        public async Task Renewed(int times)
        {
            for (int i = 0; i < times; i++)
            {
                await _renewed.WaitAsync();
            }
        }

        public Task SendAsync(IReadOnlyList<WorkMessage> ranges, CancellationToken cancellationToken = default) => inner.SendAsync(ranges, cancellationToken);

        public async Task<ReceivedWork?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default) =>
            await inner.ReceiveAsync(maxWait, cancellationToken) is { } work ? new Counted(work, _renewed) : null;

        public Task<IReadOnlyList<(WorkMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default) => inner.PeekDeadLettersAsync(max, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private sealed class Counted(ReceivedWork work, SemaphoreSlim renewed) : ReceivedWork(work.Message, work.DeliveryCount)
        {
            public override Task CompleteAsync(CancellationToken cancellationToken = default) => work.CompleteAsync(cancellationToken);

            public override Task AbandonAsync(CancellationToken cancellationToken = default) => work.AbandonAsync(cancellationToken);

            public override Task DeadLetterAsync(string reason, CancellationToken cancellationToken = default) => work.DeadLetterAsync(reason, cancellationToken);

            public override async Task RenewLockAsync(CancellationToken cancellationToken = default)
            {
                await work.RenewLockAsync(cancellationToken);
                renewed.Release();
            }
        }
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    // A transport whose first piece cannot be settled: dead-lettering and giving back both fail.
    private sealed class UnsettleableOnce(IWorkTransport inner) : IWorkTransport
    {
        private int _received;

        public Task SendAsync(IReadOnlyList<WorkMessage> ranges, CancellationToken cancellationToken = default) => inner.SendAsync(ranges, cancellationToken);

        public async Task<ReceivedWork?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
        {
            ReceivedWork? work = await inner.ReceiveAsync(maxWait, cancellationToken);
            return work is not null && Interlocked.Increment(ref _received) == 1 ? new Unsettleable(work) : work;
        }

        public Task<IReadOnlyList<(WorkMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default) => inner.PeekDeadLettersAsync(max, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private sealed class Unsettleable(ReceivedWork work) : ReceivedWork(work.Message, work.DeliveryCount)
        {
            public override Task CompleteAsync(CancellationToken cancellationToken = default) => throw new InvalidOperationException("the receipt is stale");

            public override Task AbandonAsync(CancellationToken cancellationToken = default) => throw new InvalidOperationException("the receipt is stale");

            public override Task DeadLetterAsync(string reason, CancellationToken cancellationToken = default) => throw new HttpRequestException("the queue went away");

            public override Task RenewLockAsync(CancellationToken cancellationToken = default) => work.RenewLockAsync(cancellationToken);
        }
    }

    [Fact]
    public void The_worker_s_services_are_built_without_touching_storage()
    {
        // The "storage" is a socket that only counts who connects: building the services must not connect.
        var storage = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        storage.Start();
        int port = ((System.Net.IPEndPoint)storage.LocalEndpoint).Port;
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Services.AddWork(new WorkerOptions { StorageConnection = DeepSlide.Pipeline.Local.Azurite.ConnectionStringFor(port, port, port), CacheFolder = In("unreached") });
        using IHost host = builder.Build();
        Assert.NotNull(host.Services.GetRequiredService<PipelineStores>());
        Assert.NotNull(host.Services.GetRequiredService<IWorkTransport>());
        Assert.NotNull(host.Services.GetRequiredService<IWorkCompletionSink>());
        Assert.NotNull(host.Services.GetRequiredService<WorkLoop>());
        Assert.False(storage.Pending(), "building the worker's services connected to storage");
        storage.Stop();
    }

    [Fact]
    public async Task A_model_load_that_fails_once_succeeds_on_the_next_call()
    {
        (AzureBlobStore store, _, _) = await SetupAsync();
        var flaky = new FailingFirstDownload(store);
        using var models = new ModelCache(flaky, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu });

        Assert.Equal("the network dropped", (await Assert.ThrowsAsync<IOException>(() => models.GetAsync("models/v1"))).Message);
        using ModelLease model = await models.GetAsync("models/v1");
        using ModelLease again = await models.GetAsync("models/v1");
        Assert.Same(model.Classifier, again.Classifier);

        // A caller that gives up does not cancel the load for the others.
        using var models2 = new ModelCache(store, In("models2"), new InferenceOptions { Device = ExecutionDevice.Cpu });
        using var giveUp = new CancellationTokenSource();
        Task<ModelLease> first = models2.GetAsync("models/v1", cancellationToken: giveUp.Token);
        Task<ModelLease> second = models2.GetAsync("models/v1");
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        using ModelLease loaded = await second;
        Assert.False(loaded.Classifier.IsDisposed);
    }

    [Fact]
    public async Task A_run_keeps_the_model_version_it_was_planned_with_and_fails_clearly_rather_than_mix_once_that_version_is_gone()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        var stores = new PipelineStores(store, store, store);
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu, BatchSize = 4 });
        using var handlers = new WorkHandlers(stores, Sparse(store, "slides"), models, In("scratch"));
        TileRange first = local.Plan!.Split(10)[0];
        WorkMessage planned = Message("run2", slide, first) with { Work = WorkItem.Plan, PlanBlob = "plans/run2.json" };
        await handlers.HandleAsync(planned);
        BlobVersion v1 = (await store.GetVersionAsync("models/v1/manifest.json"))!;

        // Another model is put under the same prefix mid-run.
        var random = new Random(9);
        var head = new SoftmaxModel(3, 512, [.. Enumerable.Range(0, 1536).Select(_ => (float)(random.NextDouble() - 0.5) * 2f)], [0, 0, 0]);
        ModelBundle replacement = ModelBundle.Save(In("model2"), new ModelManifest { Classes = ["adenocarcinoma", "benign", "squamous"] }, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToByteArray());
        foreach (string file in new[] { "model.onnx", "manifest.json" })
        {
            await using var stream = File.OpenRead(Path.Combine(replacement.Folder, file));
            await store.UploadAsync($"models/v1/{file}", stream);
        }

        // The worker still holding the run's version classifies the run's range with it: classify's numbers with v1.
        WorkCompletion range = await handlers.HandleAsync(planned with { Work = WorkItem.ForRange(first) });
        string parquet = In("pinned.parquet");
        await store.DownloadAsync(range.OutputBlob!, (await store.GetVersionAsync(range.OutputBlob!))!.ETag, parquet);
        float[][] p = (await PatchParquet.ReadAsync(parquet, local.Patches.Classes)).Item4;
        Assert.Equal(local.Patches.Row(0)[2], p[2][0], 1e-6);

        // A worker that never loaded it refuses, naming the manifest and the version, rather than use the new model.
        using var fresh = new ModelCache(store, In("models-fresh"), new InferenceOptions { Device = ExecutionDevice.Cpu, BatchSize = 4 });
        using var freshHandlers = new WorkHandlers(stores, Sparse(store, "slides-fresh"), fresh, In("scratch-fresh"));
        var refused = await Assert.ThrowsAsync<DeepSlideException>(() => freshHandlers.HandleAsync(planned with { Work = WorkItem.ForRange(first) }));
        Assert.Equal("models/v1/manifest.json", refused.Path);
        Assert.Contains($"the model bundle was replaced while a run was pinned to its version {v1.ETag}", refused.Message);

        // A late duplicate of the plan step keeps the version the stored plan pins.
        await handlers.HandleAsync(planned);
        string planJson = Path.Combine(_folder, "plan-again.json");
        await store.DownloadAsync("plans/run2.json", (await store.GetVersionAsync("plans/run2.json"))!.ETag, planJson);
        Assert.Equal(v1.ETag, TilePlanJson.DeserializeWithModel(await File.ReadAllTextAsync(planJson), planJson).ModelVersion);

        // A newer version loaded frees the older session once no piece holds it.
        ModelLease held = await models.GetAsync("models/v1", v1.ETag);
        using (ModelLease newer = await models.GetAsync("models/v1"))
        {
            Assert.NotEqual(v1.ETag, newer.Version);
        }

        Assert.False(held.Classifier.IsDisposed);
        held.Dispose();
        Assert.True(held.Classifier.IsDisposed);
    }

    // A model store whose first download fails as a dropped connection would.
    private sealed class FailingFirstDownload(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        private int _downloads;

        public override Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _downloads) == 1 ? throw new IOException("the network dropped") : Inner.DownloadAsync(name, etag, path, cancellationToken);
    }

    // A queue that cannot be reached on the first call.
    private sealed class FailingFirstReceive(IWorkTransport inner) : IWorkTransport
    {
        private int _calls;

        public Task SendAsync(IReadOnlyList<WorkMessage> ranges, CancellationToken cancellationToken = default) => inner.SendAsync(ranges, cancellationToken);

        public Task<ReceivedWork?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _calls) == 1 ? throw new HttpRequestException("connection refused") : inner.ReceiveAsync(maxWait, cancellationToken);

        public Task<IReadOnlyList<(WorkMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default) => inner.PeekDeadLettersAsync(max, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    // A slide store whose downloads fail with an error no step expects.
    private sealed class BrokenDownloads(IBlobStore inner) : DelegatingBlobStore(inner)
    {
        public override Task DownloadAsync(string name, string etag, string path, CancellationToken cancellationToken = default) => throw new IOException("the disk is on fire");

        public override Task<int> ReadRangeAsync(string name, string etag, long offset, Memory<byte> into, CancellationToken cancellationToken = default) => throw new IOException("the disk is on fire");
    }

    [Fact]
    public async Task A_worker_stopped_mid_range_gives_the_range_back_at_once()
    {
        (AzureBlobStore store, BlobVersion slide, SlideResult local) = await SetupAsync();
        var queues = new StorageAccount(azurite.ConnectionString).Queues();
        string suffix = $"{Guid.NewGuid():N}"[..8];
        var options = new WorkQueueOptions { QueueName = $"ranges-{suffix}", LockDuration = TimeSpan.FromSeconds(60) };
        await using IWorkTransport transport = await StorageQueueTransport.CreateAsync(queues, options);
        var sink = await StorageQueueCompletionSink.CreateAsync(queues, $"completions-{suffix}");
        using var models = new ModelCache(store, In("models"), new InferenceOptions { Device = ExecutionDevice.Cpu });
        using var stopping = new CancellationTokenSource();
        var worker = new WorkLoop(
            new StopOnReceive(transport, stopping),
            new WorkHandlers(new PipelineStores(store, store, store), Sparse(store, "slides"), models, In("scratch")),
            sink,
            lockDuration: options.LockDuration);
        await transport.SendAsync([Message("run8", slide, new TileRange(0, 0, Math.Min(5, local.Plan!.Tiles.Count)))]);

        Assert.Equal(WorkOutcome.Abandoned, await worker.RunOnceAsync(TimeSpan.FromSeconds(5), stopping.Token));

        // Without the give-back the range would stay hidden for its 60 s lock.
        ReceivedWork? again = await transport.ReceiveAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(again);
        Assert.Equal(("run8", 2), (again.Message.RunId, again.DeliveryCount));
    }

    // The worker's host is told to stop the moment the worker holds a range.
    private sealed class StopOnReceive(IWorkTransport inner, CancellationTokenSource stopping) : IWorkTransport
    {
        public Task SendAsync(IReadOnlyList<WorkMessage> ranges, CancellationToken cancellationToken = default) => inner.SendAsync(ranges, cancellationToken);

        public async Task<ReceivedWork?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
        {
            ReceivedWork? received = await inner.ReceiveAsync(maxWait, cancellationToken);
            await stopping.CancelAsync();
            return received;
        }

        public Task<IReadOnlyList<(WorkMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default) => inner.PeekDeadLettersAsync(max, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_worker_host_composed_by_AddWork_takes_a_range_from_the_queue_and_reports_it_done()
    {
        string suffix = $"{Guid.NewGuid():N}"[..8];
        PipelineStores stores = await new StorageAccount(azurite.ConnectionString).StoresAsync();
        (BlobVersion slide, SlideResult local) = await SetupAsync(stores, $"{suffix}/");
        HostApplicationBuilder builder = Host.CreateApplicationBuilder();
        builder.Services.AddWork(new WorkerOptions
        {
            StorageConnection = azurite.ConnectionString,
            RangeQueue = $"ranges-{suffix}",
            CompletionQueue = $"done-{suffix}",
            CacheFolder = In("host-cache"),
            BatchSize = 8,
        });
        using IHost host = builder.Build();
        await host.StartAsync();
        try
        {
            var queues = new StorageAccount(azurite.ConnectionString).Queues();
            await using IWorkTransport sender = await StorageQueueTransport.CreateAsync(queues, new WorkQueueOptions { QueueName = $"ranges-{suffix}" });
            int count = Math.Min(6, local.Plan!.Tiles.Count);
            await sender.SendAsync([Message("run9", slide, new TileRange(0, 0, count), $"{suffix}/")]);

            // The worker makes its notice queue on its first notice; the reader makes sure it is there too.
            var done = queues.GetQueueClient($"done-{suffix}");
            await done.CreateIfNotExistsAsync();
            WorkCompletion? notice = null;
            for (var deadline = DateTime.UtcNow.AddSeconds(60); notice is null && DateTime.UtcNow < deadline;)
            {
                Azure.Storage.Queues.Models.QueueMessage? message = (await done.ReceiveMessageAsync()).Value;
                notice = message is null ? null : WorkCompletion.FromJson(message.Body.ToString());
                if (notice is null)
                {
                    await Task.Delay(250);
                }
            }

            Assert.NotNull(notice);
            Assert.True(notice.Succeeded, notice.Error);
            Assert.Equal((RunBlobs.Range("run9", 0), count), (notice.OutputBlob, notice.Patches));
            Assert.NotNull(await stores.Results.GetVersionAsync(notice.OutputBlob!));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
