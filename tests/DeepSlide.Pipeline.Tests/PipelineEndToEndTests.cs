using DeepSlide.Tiling;
using System.Collections.Concurrent;
using System.Diagnostics;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline.Local;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Results;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepSlide.Pipeline.Tests;

/// <summary>
/// The pipeline end to end on real Azurite and cosmosdb-server with the local durable host and worker hosts: upload
/// a slide, wait for its run in Cosmos, and compare with classifying it in one process.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class PipelineEndToEndTests(EmulatorsFixture emulators) : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(3);
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-e2e-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private LocalPipeline NewPipeline(int tilesPerRange = 8) => new(emulators.Azurite.ConnectionString, emulators.Cosmos.Endpoint, _folder, tilesPerRange);

    // Every range message taken and completed (its notice sent), and every notice relayed into its run.
    private static async Task WaitUntilDrainedAsync(LocalPipeline pipeline)
    {
        foreach (string name in new[] { pipeline.Options.RangeQueue, pipeline.Options.CompletionQueue })
        {
            var queue = pipeline.Storage.Queues().GetQueueClient(name);
            for (DateTime deadline = DateTime.UtcNow.AddSeconds(60); (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount > 0; await Task.Delay(100))
            {
                Assert.True(DateTime.UtcNow < deadline, $"{name} did not drain");
            }
        }
    }

    // Once the plan is in (the run is Running), every message on the range queue is a range.
    private static async Task WaitUntilRunningAsync(LocalDurableHost host, string blob, string runId)
    {
        for (DateTime deadline = DateTime.UtcNow.AddSeconds(60); (await host.Runs.GetAsync(SlideRun.SlideIdOf(blob), runId))?.Status != RunStatus.Running;)
        {
            Assert.True(DateTime.UtcNow < deadline, "the run did not reach Running");
            await Task.Delay(100);
        }
    }

    private static async Task AssertSameAsClassifyAsync(LocalPipeline pipeline, SlideRun run, SlideResult local)
    {
        Assert.True(run.Status == RunStatus.Completed, $"{run.Status}: {run.Error}");
        Assert.Equal(local.Plan!.Tiles.Count, run.Patches);
        Assert.Equal(local.Calls.Select(c => (c.Method, c.Label)), run.Calls.Select(c => (c.Method, c.Label)));
        foreach ((SlideCall expected, StoredCall actual) in local.Calls.Zip(run.Calls))
        {
            for (int c = 0; c < local.Patches.Classes.Count; c++)
            {
                Assert.Equal(expected.Scores[c], actual.Scores[local.Patches.Classes[c]], 1e-5);
            }
        }

        PipelineStores stores = await pipeline.Storage.StoresAsync();
        string parquet = Path.Combine(pipeline.Folder, $"{run.Id}.parquet");
        BlobVersion patches = (await stores.Results.GetVersionAsync(run.Outputs["patches"]))!;
        await stores.Results.DownloadAsync(patches.Name, patches.ETag, parquet);
        (long[] x, long[] y, string[] prediction, float[][] p) = await PatchParquet.ReadAsync(parquet, local.Patches.Classes);
        Assert.Equal(local.Plan.Tiles.Select(t => (t.X, t.Y)), x.Zip(y));
        for (int i = 0; i < local.Patches.Count; i++)
        {
            Assert.Equal(local.Patches.Classes[local.Patches.Prediction(i).Class], prediction[i]);
            for (int c = 0; c < local.Patches.Classes.Count; c++)
            {
                Assert.Equal(local.Patches.Row(i)[c], p[c][i], 1e-6);
            }
        }
    }

    [Fact]
    public async Task An_uploaded_slide_is_classified_by_two_workers_exactly_as_classify_does_and_repeats_change_nothing()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => PipelineTelemetry.Sources.Contains(source.Name) && source.Name != PipelineTelemetry.DurableTask,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        // The metrics the operations workbook charts, as this run emits them.
        var measured = new ConcurrentBag<(string Instrument, double Value, string Tags)>();
        using var meters = new System.Diagnostics.Metrics.MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PipelineTelemetry.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((i, v, tags, _) => measured.Add((i.Name, v, Tags(tags))));
        meters.SetMeasurementEventCallback<double>((i, v, tags, _) => measured.Add((i.Name, v, Tags(tags))));
        meters.Start();
        static string Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var text = new List<string>();
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                text.Add($"{tag.Key}={tag.Value}");
            }

            return string.Join(",", text);
        }

        await using var pipeline = NewPipeline();
        ModelBundle bundle = await pipeline.UploadModelAsync();
        string slide = LocalPipeline.WriteSlide(_folder, "case-01.svs", seed: 11);
        SlideResult local = await LocalPipeline.ClassifyLocallyAsync(slide, bundle);
        LocalDurableHost host = await pipeline.StartHostAsync();
        IHost first = await pipeline.StartWorkerAsync();
        await pipeline.StartWorkerAsync();

        // Locally a range's lock is short and renewed, so a killed worker's range comes back within a minute.
        Assert.Equal(TimeSpan.FromSeconds(30), first.Services.GetRequiredService<DeepSlide.Pipeline.Work.WorkerOptions>().LockDuration);

        string blob = $"lab-a/{pipeline.Options.ModelPrefix}/case-01.svs";
        BlobVersion version = await pipeline.UploadSlideAsync(blob, slide);
        string runId = PipelineNames.RunIdForUpload(blob, version.ETag);
        SlideRun run = await host.WaitForRunAsync(SlideRun.SlideIdOf(blob), runId, RunTimeout);

        await AssertSameAsClassifyAsync(pipeline, run, local);
        Assert.Equal(["majority", "mean", "mil", "threshold"], run.Calls.Select(c => c.Method).Order());
        Assert.Equal(TileRange.Split(local.Plan!.Tiles.Count, 8).Count, run.RangesTotal);
        Assert.True(run.RangesTotal >= 3);
        Assert.Equal((blob, version.ETag, bundle.Manifest.Onnx.Sha256), (run.SlideBlob, run.SlideETag, run.Model?.Sha256));
        Assert.Equal(["aggregating", "inference", "planning", "rangeFetchMax", "total", "workerAggregate", "workerPlan", "workerRanges"], run.Seconds.Keys.Order(StringComparer.Ordinal));
        Assert.All(run.Seconds.Values, v => Assert.True(v > 0));

        // deepslide.runs (by outcome), deepslide.stage.duration (by stage) and deepslide.worker.patch_rate were emitted.
        Assert.Equal(PipelineTelemetry.Metrics.Order(), measured.Select(m => m.Instrument).Distinct().Order());
        Assert.Contains(measured, m => m.Instrument == PipelineTelemetry.RunsMetric && m.Value == 1 && m.Tags == "outcome=Completed");
        Assert.Equal(["stage=aggregating", "stage=inference", "stage=planning", "stage=total"], measured.Where(m => m.Instrument == PipelineTelemetry.StageDurationMetric).Select(m => m.Tags.Split(',')[0]).Distinct().Order());
        Assert.InRange(measured.Count(m => m.Instrument == PipelineTelemetry.PatchRateMetric && m.Value > 0), run.RangesTotal, int.MaxValue);

        // The workers fetched their tiles' bytes, not the slide once each.
        Assert.Null(run.WholeSlideBecause);
        Assert.Equal(version.Length, run.SlideBytes);
        Assert.InRange(run.SlideBytesFetched, 1, 2 * run.SlideBytes);
        PipelineStores stores = await pipeline.Storage.StoresAsync();
        Assert.NotNull(await stores.Results.GetVersionAsync($"{run.Outputs["pictures"]}/overlays/case-01.png"));
        Assert.NotNull(await stores.Results.GetVersionAsync($"{run.Outputs["pictures"]}/qupath/case-01.geojson"));
        Assert.NotNull(await stores.Results.GetVersionAsync($"{run.Outputs["pictures"]}/masks/case-01.png"));
        // Drawn from the aggregate step's own result, which holds the calls: MIL's attention map too, as classify draws it.
        Assert.NotNull(await stores.Results.GetVersionAsync($"{run.Outputs["pictures"]}/attention/case-01.png"));
        Assert.NotNull(await stores.Results.GetVersionAsync(run.Outputs["result"]));
        Assert.NotNull(await stores.Results.GetVersionAsync(RunBlobs.RangeFeatures(runId, 0)));

        // One trace from the upload through dispatch and every worker step to aggregation.
        List<Activity> traced = spans.Where(a => Equals(a.GetTagItem("deepslide.run_id"), runId)).ToList();
        Assert.Equal(
            ["aggregate", "dispatch", "slide uploaded", "worker aggregate", "worker plan", "worker range"],
            traced.Select(a => a.DisplayName).Distinct().Order());
        Assert.Single(traced.Select(a => a.TraceId).Distinct());
        Assert.Equal(run.RangesTotal, traced.Count(a => a.DisplayName == "worker range"));

        // The same upload event again, and every range message again: still one run, with the same results.
        RunStart again = await host.Starter.StartForUploadAsync(blob, version.ETag, pipeline.Options.ModelPrefix);
        Assert.Equal((runId, false), (again.RunId, again.Started));
        var request = new SlideRunRequest(blob, version.ETag, pipeline.Options.ModelPrefix);
        await using (IWorkTransport transport = await StorageQueueTransport.CreateAsync(pipeline.Storage.Queues(), new WorkQueueOptions { QueueName = pipeline.Options.RangeQueue }))
        {
            await transport.SendAsync(request.RangesOf(run.Patches).Select(r => DispatchActivity.Message(runId, request, WorkItem.ForRange(r), 0, null)).ToList());
        }

        await WaitUntilDrainedAsync(pipeline);
        SlideRun after = (await host.Runs.GetAsync(run.SlideId, runId))!;
        Assert.Single(await host.Runs.ListAsync(run.SlideId));
        Assert.Equal((run.Status, run.UpdatedUtc), (after.Status, after.UpdatedUtc));
        await AssertSameAsClassifyAsync(pipeline, after, local);
    }

    /// <summary>
    /// An int8 bundle that carries its FP32 graph: the ranges classify their unsure patches again in FP32, and the
    /// aggregate step the whole slide when its calls are unsure, so the run equals classify's with the same bundle.
    /// A pipeline that used the int8 outputs as they came would differ from it in the patches classified again.
    /// </summary>
    [Theory]
    [InlineData(0.05, 0.0001, false)]
    [InlineData(0.0, 0.5, true)]
    public async Task An_int8_bundle_is_confirmed_by_its_FP32_graph_in_the_pipeline_exactly_as_classify_confirms_it(double patchMargin, double margin, bool wholeSlide)
    {
        await using var pipeline = NewPipeline();
        ModelBundle bundle = await pipeline.UploadModelAsync(int8: (patchMargin, margin));
        string slide = LocalPipeline.WriteSlide(_folder, "case-int8.svs", seed: 11);
        SlideResult local = await LocalPipeline.ClassifyLocallyAsync(slide, bundle);
        Assert.Equal(wholeSlide, local.Confirmed!.WholeSlide);
        if (!wholeSlide)
        {
            Assert.InRange(local.Confirmed.Patches!.Value, 1, local.Patches.Count - 1);
        }

        LocalDurableHost host = await pipeline.StartHostAsync();
        await pipeline.StartWorkerAsync();
        await pipeline.StartWorkerAsync();
        string blob = $"lab-a/{pipeline.Options.ModelPrefix}/case-int8.svs";
        BlobVersion version = await pipeline.UploadSlideAsync(blob, slide);
        SlideRun run = await host.WaitForRunAsync(SlideRun.SlideIdOf(blob), PipelineNames.RunIdForUpload(blob, version.ETag), RunTimeout);

        await AssertSameAsClassifyAsync(pipeline, run, local);
        Assert.Equal(bundle.Manifest.Onnx.Sha256, run.Model?.Sha256);
    }

    [Fact]
    public async Task A_range_dropped_by_a_killed_worker_is_redelivered_and_a_host_restart_mid_run_loses_nothing()
    {
        await using var pipeline = NewPipeline(tilesPerRange: 2);
        ModelBundle bundle = await pipeline.UploadModelAsync();
        string slide = LocalPipeline.WriteSlide(_folder, "case-02.svs", seed: 12);
        SlideResult local = await LocalPipeline.ClassifyLocallyAsync(slide, bundle);
        LocalDurableHost host = await pipeline.StartHostAsync();

        // A worker that takes the first range and dies before finishing it: the message is neither completed nor given back.
        await using IWorkTransport killed = await StorageQueueTransport.CreateAsync(
            pipeline.Storage.Queues(), new WorkQueueOptions { QueueName = pipeline.Options.RangeQueue, LockDuration = TimeSpan.FromSeconds(4) });
        IHost planner = await pipeline.StartWorkerAsync(lockDuration: TimeSpan.FromSeconds(4));
        string blob = "lab-b/case-02.svs";
        BlobVersion version = await pipeline.UploadSlideAsync(blob, slide);
        string runId = PipelineNames.RunIdForUpload(blob, version.ETag);
        await WaitUntilRunningAsync(host, blob, runId);

        // The first worker stops mid-run too (a range it held comes back after its 4 s lock), and a second takes over.
        await planner.StopAsync();
        ReceivedWork? taken = await killed.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WorkKind.Range, taken?.Message.Work.Kind);
        await pipeline.StartWorkerAsync();
        Assert.NotNull(taken);

        // The orchestration host goes down mid-run and comes back: the run's state is in Azurite.
        await pipeline.StopHostAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        host = await pipeline.StartHostAsync();

        SlideRun run = await host.WaitForRunAsync(SlideRun.SlideIdOf(blob), runId, RunTimeout);
        await AssertSameAsClassifyAsync(pipeline, run, local);
        Assert.Equal(0, run.Redispatched);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_range_delivered_too_often_without_completing_is_reported_lost_and_sent_again_at_once_so_the_run_completes_as_classify(bool sentTwice)
    {
        await using var pipeline = NewPipeline(tilesPerRange: 4);
        ModelBundle bundle = await pipeline.UploadModelAsync();
        string slide = LocalPipeline.WriteSlide(_folder, "case-lost.svs", seed: 17);
        SlideResult local = await LocalPipeline.ClassifyLocallyAsync(slide, bundle);
        LocalDurableHost host = await pipeline.StartHostAsync();
        IHost planner = await pipeline.StartWorkerAsync();
        string blob = "lab-l/case-lost.svs";
        BlobVersion version = await pipeline.UploadSlideAsync(blob, slide);
        string runId = PipelineNames.RunIdForUpload(blob, version.ETag);
        await WaitUntilRunningAsync(host, blob, runId);

        // Workers that die mid-range, over and over: one range is delivered as often as the workers allow (5), never
        // completed. Delivery is at least once: a repeated dispatch can put a second copy of the range on the queue
        // (seen in a loaded run: a second copy at delivery 1 where the first was at 2), so each copy is counted by its
        // own delivery count, until one copy has been delivered 5 times.
        await planner.StopAsync();
        await using IWorkTransport dying = await StorageQueueTransport.CreateAsync(pipeline.Storage.Queues(), new WorkQueueOptions { QueueName = pipeline.Options.RangeQueue });
        string? lost = null;
        int deliveries = 0;
        bool copied = false;
        while (deliveries < 5)
        {
            ReceivedWork taken = (await dying.ReceiveAsync(TimeSpan.FromSeconds(10)))!;
            if (lost is null && sentTwice)
            {
                await dying.SendAsync([taken.Message]);
            }

            lost ??= taken.Message.Work.Key;
            if (taken.Message.Work.Key == lost)
            {
                Assert.InRange(taken.DeliveryCount, 1, deliveries + 1);
                copied |= taken.DeliveryCount != deliveries + 1;
                deliveries = Math.Max(deliveries, taken.DeliveryCount);
            }

            await taken.AbandonAsync();
        }

        // A healthy worker then gets its sixth delivery, gives it up and tells the run, which sends it again without
        // waiting out its 10-minute deadline.
        await pipeline.StartWorkerAsync();
        SlideRun run = await host.WaitForRunAsync(SlideRun.SlideIdOf(blob), runId, RunTimeout);
        await AssertSameAsClassifyAsync(pipeline, run, local);
        // With a second copy, the healthy worker may complete the range from it before the lost notice arrives.
        // A copy sent after the first delivery is visible before the first is again, so it is seen (Azurite hands out
        // messages in the order they become visible); without one, a repeated dispatch can still make one.
        Assert.True(copied || !sentTwice, "the second copy was never delivered");
        Assert.InRange(run.Redispatched, copied ? 0 : 1, 8);
        // The copy delivered 5 times is dead-lettered on its sixth delivery, which with a second copy may come after
        // the run completed.
        string[] reasons = [];
        for (var waited = Stopwatch.StartNew(); reasons.Length == 0 && waited.Elapsed < TimeSpan.FromSeconds(60); await Task.Delay(250))
        {
            reasons = [.. (await dying.PeekDeadLettersAsync(10)).Where(d => d.Message?.Work.Key == lost).Select(d => d.Reason)];
        }

        Assert.NotEmpty(reasons);
        Assert.All(reasons, reason => Assert.Contains("was delivered 5 times without completing", reason));
    }

    [Fact]
    public async Task A_corrupt_slide_a_text_file_and_a_million_pixel_square_slide_end_failed_with_the_reason_their_plan_messages_poisoned_and_a_blank_image_ends_with_no_tissue()
    {
        await using var pipeline = NewPipeline();
        await pipeline.UploadModelAsync();
        LocalDurableHost host = await pipeline.StartHostAsync();
        await pipeline.StartWorkerAsync();
        string good = LocalPipeline.WriteSlide(_folder, "whole.svs", seed: 13);
        byte[] bytes = await File.ReadAllBytesAsync(good);
        await File.WriteAllBytesAsync(Path.Combine(_folder, "truncated.svs"), bytes[..(bytes.Length / 3)]);
        await File.WriteAllTextAsync(Path.Combine(_folder, "notes.txt"), "not a slide");
        await File.WriteAllBytesAsync(Path.Combine(_folder, "huge.tif"), DeepSlide.Tests.Shared.TiffBuilder.Tiled(1_000_000, 1_000_000));

        foreach ((string blob, string file, string reason) in new[]
        {
            ("lab-c/truncated.svs", "truncated.svs", "lab-c/truncated.svs"),
            ("lab-c/notes.txt", "notes.txt", "lab-c/notes.txt"),
            ("lab-c/huge.tif", "huge.tif", "lab-c/huge.tif: the slide is 1,000,000 x 1,000,000 px"),
        })
        {
            BlobVersion version = await pipeline.UploadSlideAsync(blob, Path.Combine(_folder, file));
            SlideRun run = await host.WaitForRunAsync(SlideRun.SlideIdOf(blob), PipelineNames.RunIdForUpload(blob, version.ETag), RunTimeout);
            Assert.Equal(RunStatus.Failed, run.Status);
            Assert.Contains("the plan step failed", run.Error);
            Assert.Contains(reason, run.Error);
        }

        // A readable image with no tissue is not a failure: the run ends NoTissue, with nothing dispatched.
        using (var blank = new SkiaSharp.SKBitmap(1200, 900))
        {
            blank.Erase(SkiaSharp.SKColors.White);
            using SkiaSharp.SKData png = blank.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            await File.WriteAllBytesAsync(Path.Combine(_folder, "blank.png"), png.ToArray());
        }

        BlobVersion blankVersion = await pipeline.UploadSlideAsync("lab-c/blank.png", Path.Combine(_folder, "blank.png"));
        SlideRun empty = await host.WaitForRunAsync("lab-c_blank.png", PipelineNames.RunIdForUpload("lab-c/blank.png", blankVersion.ETag), RunTimeout);
        Assert.Equal((RunStatus.NoTissue, 0, 0), (empty.Status, empty.RangesTotal, empty.Patches));
        Assert.Contains("no tissue", empty.Error);
        Assert.Empty(empty.Calls);

        await using IWorkTransport transport = await StorageQueueTransport.CreateAsync(pipeline.Storage.Queues(), new WorkQueueOptions { QueueName = pipeline.Options.RangeQueue });
        IReadOnlyList<(WorkMessage? Message, string Reason)> poisoned = await transport.PeekDeadLettersAsync(32);

        // Delivery is at least once, so a plan message sent twice is poisoned twice: counted by message id.
        Assert.Equal(["lab-c/huge.tif", "lab-c/notes.txt", "lab-c/truncated.svs"], poisoned.DistinctBy(p => p.Message!.MessageId).Select(p => p.Message!.SlideBlob).Order());
        Assert.All(poisoned, p => Assert.Equal(WorkKind.Plan, p.Message!.Work.Kind));
    }

    [Fact]
    public async Task Ranges_lost_past_the_deadline_are_redispatched_a_bounded_number_of_times_and_then_the_run_fails_saying_which()
    {
        await using var pipeline = NewPipeline();
        pipeline.Options = pipeline.Options with { RunDefaults = pipeline.Options.RunDefaults with { TilesPerRange = 4, Deadline = TimeSpan.FromSeconds(2), MaxRedispatches = 1 } };
        LocalDurableHost host = await pipeline.StartHostAsync();
        await using IWorkTransport queue = await StorageQueueTransport.CreateAsync(pipeline.Storage.Queues(), new WorkQueueOptions { QueueName = pipeline.Options.RangeQueue });
        var notices = await StorageQueueCompletionSink.CreateAsync(pipeline.Storage.Queues(), pipeline.Options.CompletionQueue);
        RunStart start = await host.Starter.StartForUploadAsync("lab-d/lost.svs", "\"0x2\"", pipeline.Options.ModelPrefix);

        // This test is the only worker: it answers the plan with 10 tiles, then loses every range it is sent. On a slow
        // machine the plan itself can outlast the 2 s deadline and be sent again (a new message id); and delivery is at
        // least once (a durable activity can run twice), so the same message can arrive more than once. Both are
        // counted by message id, not assumed away.
        var lost = new HashSet<string>();
        var plans = new HashSet<string>();
        SlideRun? run = null;
        for (DateTime deadline = DateTime.UtcNow.AddSeconds(60); run is null && DateTime.UtcNow < deadline;)
        {
            if (await queue.ReceiveAsync(TimeSpan.FromMilliseconds(200)) is { } received)
            {
                if (received.Message.Work.Kind == WorkKind.Plan)
                {
                    plans.Add(received.Message.MessageId);
                    await notices.SendAsync(new WorkCompletion(start.RunId!, WorkItem.Plan, true, received.Message.PlanBlob, null) { PlannedTiles = 10 });
                }
                else
                {
                    lost.Add(received.Message.MessageId);
                }

                await received.CompleteAsync();
            }

            SlideRun? stored = await host.Runs.GetAsync("lab-d_lost.svs", start.RunId!);
            run = stored is not null && RunStatus.IsFinal(stored.Status) ? stored : null;
        }

        Assert.NotNull(run);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(3, run.RangesTotal);
        Assert.Equal(3 + (plans.Count - 1), run.Redispatched);
        Assert.Contains("3 piece(s) got no completion notice within 00:00:02 after 1 re-dispatch(es): range 0 (tiles 0..4), range 1 (tiles 4..8), range 2 (tiles 8..10)", run.Error);
        string id = start.RunId!;
        Assert.Equal([$"{id}:range:0", $"{id}:range:0:retry1", $"{id}:range:1", $"{id}:range:1:retry1", $"{id}:range:2", $"{id}:range:2:retry1"], lost.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Events_for_one_upload_arriving_at_the_same_moment_make_one_run()
    {
        await using var pipeline = NewPipeline();
        LocalDurableHost host = await pipeline.StartHostAsync();
        for (int i = 0; i < 3; i++)
        {
            string etag = $"\"0x{i}\"";
            RunStart[] starts = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => host.Starter.StartForUploadAsync("lab-e/twice.svs", etag, pipeline.Options.ModelPrefix)));
            Assert.Single(starts.Select(s => s.RunId).Distinct());
            Assert.Single(starts, s => s.Started);
        }

        // One plan message and one run document per slide version (no worker runs here, so the runs wait in Planning).
        IReadOnlyList<SlideRun> runs = [];
        for (DateTime deadline = DateTime.UtcNow.AddSeconds(30); runs.Count < 3 && DateTime.UtcNow < deadline; await Task.Delay(250))
        {
            runs = await host.Runs.ListAsync("lab-e_twice.svs");
        }

        // Each run's plan message is out once its orchestration has started: then no start is still under way.
        var queue = pipeline.Storage.Queues().GetQueueClient(pipeline.Options.RangeQueue);
        Azure.Storage.Queues.Models.PeekedMessage[] plans = [];
        for (DateTime deadline = DateTime.UtcNow.AddSeconds(30); plans.Length < 3 && DateTime.UtcNow < deadline; await Task.Delay(250))
        {
            plans = (await queue.PeekMessagesAsync(32)).Value;
        }

        // Counted by run: dispatch is at least once, and a full run once saw one run's plan sent twice (4 messages).
        IReadOnlyList<SlideRun> stored = await host.Runs.ListAsync("lab-e_twice.svs");
        Assert.Equal(3, stored.Count);
        Assert.Equal(stored.Select(r => r.Id).Order(), plans.Select(p => WorkMessage.FromJson(p.Body.ToString()).RunId).Distinct().Order());
    }

    [Fact]
    public async Task A_claim_left_by_a_starter_that_died_is_taken_over_after_a_minute_and_a_fresh_one_is_not()
    {
        await using var pipeline = NewPipeline();
        LocalDurableHost host = await pipeline.StartHostAsync();
        foreach ((string etag, int minutesAgo, bool started) in new[] { ("\"0xa\"", 2, true), ("\"0xb\"", 0, false) })
        {
            string runId = PipelineNames.RunIdForUpload("lab-f/claimed.svs", etag);
            DateTimeOffset then = DateTimeOffset.UtcNow.AddMinutes(-minutesAgo);
            Assert.True(await host.Runs.TryCreateAsync(new SlideRun
            {
                Id = runId,
                SlideId = "lab-f_claimed.svs",
                SlideBlob = "lab-f/claimed.svs",
                SlideETag = etag,
                ModelPrefix = pipeline.Options.ModelPrefix,
                CreatedUtc = then,
                UpdatedUtc = then,
            }));
            RunStart start = await host.Starter.StartForUploadAsync("lab-f/claimed.svs", etag, pipeline.Options.ModelPrefix);
            Assert.Equal((runId, started), (start.RunId, start.Started));
            Assert.Equal(started, await host.Client.GetInstanceAsync(runId) is not null);
        }
    }

    [Fact]
    public async Task A_start_whose_scheduling_fails_releases_its_claim_so_the_retried_event_starts_the_run()
    {
        await using var pipeline = NewPipeline();
        LocalDurableHost host = await pipeline.StartHostAsync();
        var failing = new FailingFirstSchedule(host.Client);
        var starter = new SlideRunStarter(failing, host.Runs, pipeline.Options.RunDefaults);
        string runId = PipelineNames.RunIdForUpload("lab-g/retried.svs", "\"0x1\"");

        // The first delivery of the upload event fails to schedule (a transient error); the trigger retries at once.
        await Assert.ThrowsAsync<HttpRequestException>(() => starter.StartForUploadAsync("lab-g/retried.svs", "\"0x1\"", pipeline.Options.ModelPrefix));
        Assert.Null(await host.Runs.GetAsync("lab-g_retried.svs", runId));
        RunStart retried = await starter.StartForUploadAsync("lab-g/retried.svs", "\"0x1\"", pipeline.Options.ModelPrefix);
        Assert.Equal((runId, true), (retried.RunId, retried.Started));
        Assert.NotNull(await host.Client.GetInstanceAsync(runId));
    }

    // A durable client whose first schedule fails as a dropped connection would; everything else is the real client.
    private sealed class FailingFirstSchedule(DurableTaskClient inner) : DurableTaskClient("failing-first")
    {
        private int _schedules;

        public override Task<string> ScheduleNewOrchestrationInstanceAsync(TaskName orchestratorName, object? input = null, StartOrchestrationOptions? options = null, CancellationToken cancellation = default) =>
            Interlocked.Increment(ref _schedules) == 1
                ? throw new HttpRequestException("the connection dropped")
                : inner.ScheduleNewOrchestrationInstanceAsync(orchestratorName, input, options, cancellation);

        public override Task<OrchestrationMetadata?> GetInstancesAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
            inner.GetInstancesAsync(instanceId, getInputsAndOutputs, cancellation);

        public override AsyncPageable<OrchestrationMetadata> GetAllInstancesAsync(OrchestrationQuery? filter = null) => inner.GetAllInstancesAsync(filter);

        public override Task RaiseEventAsync(string instanceId, string eventName, object? eventPayload = null, CancellationToken cancellation = default) =>
            inner.RaiseEventAsync(instanceId, eventName, eventPayload, cancellation);

        public override Task SuspendInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) => inner.SuspendInstanceAsync(instanceId, reason, cancellation);

        public override Task ResumeInstanceAsync(string instanceId, string? reason = null, CancellationToken cancellation = default) => inner.ResumeInstanceAsync(instanceId, reason, cancellation);

        public override Task<OrchestrationMetadata> WaitForInstanceStartAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
            inner.WaitForInstanceStartAsync(instanceId, getInputsAndOutputs, cancellation);

        public override Task<OrchestrationMetadata> WaitForInstanceCompletionAsync(string instanceId, bool getInputsAndOutputs = false, CancellationToken cancellation = default) =>
            inner.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs, cancellation);

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    [Fact]
    public async Task A_name_Azurite_cannot_list_is_refused_and_the_uploads_around_it_still_complete()
    {
        await using var pipeline = NewPipeline();
        await pipeline.UploadModelAsync();
        LocalDurableHost host = await pipeline.StartHostAsync();
        await pipeline.StartWorkerAsync();
        string good = LocalPipeline.WriteSlide(_folder, "good.svs", seed: 17);

        // Put by another storage client: from then on Azurite answers every listing of the container with a 500.
        var slides = new Azure.Storage.Blobs.BlobContainerClient(pipeline.Storage.ConnectionString, PipelineNames.SlidesContainer);
        await slides.GetBlobClient("raw/ctl\u0001.tif").UploadAsync(new BinaryData("x"u8.ToArray()));
        BlobVersion before = await pipeline.UploadSlideAsync("lab-e/before.svs", good);
        BlobVersion after = await pipeline.UploadSlideAsync("raw/ctm.svs", good);

        SlideRun refused = await host.WaitForRunAsync(SlideRun.SlideIdOf("raw/ctl"), PipelineNames.RunIdForUpload("raw/ctl", string.Empty), RunTimeout);
        Assert.Equal(RunStatus.Failed, refused.Status);
        Assert.Contains("whose name starts 'raw/ctl'", refused.Error);
        foreach ((string blob, BlobVersion version) in new[] { ("lab-e/before.svs", before), ("raw/ctm.svs", after) })
        {
            SlideRun run = await host.WaitForRunAsync(SlideRun.SlideIdOf(blob), PipelineNames.RunIdForUpload(blob, version.ETag), RunTimeout);
            Assert.Equal(RunStatus.Completed, run.Status);
        }
    }

    [Fact]
    public async Task Blob_names_that_cannot_be_slides_are_refused_with_a_failed_run_that_says_why()
    {
        await using var pipeline = NewPipeline();
        LocalDurableHost host = await pipeline.StartHostAsync();
        foreach ((string name, string problem) in new[]
        {
            ("lab/../secret.svs", "'.' or '..' path segment"),
            ("lab/a\u0001b.svs", "control character (U+0001 at position 5)"),
            ("lab/" + new string('x', 1100) + ".svs", "1108 characters long; at most 1024"),
        })
        {
            RunStart start = await host.Starter.StartForUploadAsync(name, "\"0x1\"", pipeline.Options.ModelPrefix);
            Assert.False(start.Started);
            Assert.Contains(problem, start.Rejected);
            SlideRun stored = Assert.Single(await host.Runs.ListAsync(SlideRun.SlideIdOf(name)));
            Assert.Equal(RunStatus.Failed, stored.Status);
            Assert.Equal(start.Rejected, stored.Error);
            Assert.True(stored.SlideId.Length <= 255);
            Assert.Null(await host.Client.GetInstanceAsync(PipelineNames.RunIdForUpload(name, "\"0x1\"")));
        }
    }
}

/// <summary>Azurite and cosmosdb-server shared by the end-to-end tests.</summary>
public sealed class EmulatorsFixture : IAsyncLifetime
{
    public AzuriteFixture Azurite { get; } = new();

    public CosmosServerFixture Cosmos { get; } = new();

    public async Task InitializeAsync()
    {
        await Azurite.InitializeAsync();
        await Cosmos.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Azurite.DisposeAsync();
        await Cosmos.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PipelineCollection : ICollectionFixture<EmulatorsFixture>
{
    public const string Name = "pipeline end to end";
}
