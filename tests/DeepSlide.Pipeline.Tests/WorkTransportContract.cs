namespace DeepSlide.Pipeline.Tests;

/// <summary>
/// What every work transport must do, run against each adapter. Each test uses a queue of its own.
/// </summary>
public abstract class WorkTransportContract
{
    protected static WorkMessage Range(string run, int index) => new(run, $"slides/{run}.svs", "0x8DC", $"plans/{run}.json", "models/v1", WorkItem.ForRange(new Tiling.TileRange(index, index * 256, 256)));

    /// <summary>A transport on a fresh queue; skips the test when the broker is not available here.</summary>
    protected abstract Task<IWorkTransport> CreateAsync(WorkQueueOptions options);

    /// <summary>Puts a body on the transport's queue as any other sender could, bypassing the transport.</summary>
    protected abstract Task SendRawAsync(WorkQueueOptions options, string body);

    private Task<IWorkTransport> Fresh(int maxDeliveries = 3, double lockSeconds = 30) =>
        CreateAsync(new WorkQueueOptions
        {
            QueueName = $"ranges-{Guid.NewGuid():N}"[..20],
            MaxDeliveryCount = maxDeliveries,
            LockDuration = TimeSpan.FromSeconds(lockSeconds),
        });

    [SkippableFact]
    public async Task Sent_ranges_arrive_whole_and_completed_ranges_are_gone()
    {
        await using IWorkTransport transport = await Fresh();
        WorkMessage[] sent = [Range("run1", 0), Range("run1", 1), Range("run1", 2)];
        await transport.SendAsync(sent);
        var received = new List<WorkMessage>();
        for (int i = 0; i < 3; i++)
        {
            ReceivedWork range = (await transport.ReceiveAsync(TimeSpan.FromSeconds(5)))!;
            Assert.Equal(1, range.DeliveryCount);
            received.Add(range.Message);
            await range.CompleteAsync();
        }

        Assert.Equal(sent.OrderBy(r => r.Work.Key), received.OrderBy(r => r.Work.Key));
        Assert.Equal("run1:range:2", received.Single(r => r.Work.RangeTiles.Index == 2).MessageId);
        Assert.Null(await transport.ReceiveAsync(TimeSpan.FromSeconds(1)));
    }

    [SkippableFact]
    public async Task An_abandoned_range_comes_back_with_one_more_delivery()
    {
        await using IWorkTransport transport = await Fresh();
        await transport.SendAsync([Range("run2", 0)]);
        ReceivedWork first = (await transport.ReceiveAsync(TimeSpan.FromSeconds(5)))!;
        await first.AbandonAsync();
        ReceivedWork second = (await transport.ReceiveAsync(TimeSpan.FromSeconds(5)))!;
        Assert.Equal(first.Message, second.Message);
        Assert.Equal(2, second.DeliveryCount);
        await second.CompleteAsync();
    }

    [SkippableFact]
    public async Task A_locked_range_is_not_handed_to_a_second_worker()
    {
        await using IWorkTransport transport = await Fresh();
        await transport.SendAsync([Range("run3", 0), Range("run3", 1)]);
        ReceivedWork a = (await transport.ReceiveAsync(TimeSpan.FromSeconds(5)))!;
        ReceivedWork b = (await transport.ReceiveAsync(TimeSpan.FromSeconds(5)))!;
        Assert.NotEqual(a.Message.Work, b.Message.Work);
        Assert.Null(await transport.ReceiveAsync(TimeSpan.FromSeconds(1)));
        await a.RenewLockAsync();
        await a.CompleteAsync();
        await b.CompleteAsync();
    }

    [SkippableFact]
    public async Task A_range_delivered_too_often_is_handed_over_once_more_for_its_worker_to_dead_letter_and_never_again()
    {
        await using IWorkTransport transport = await Fresh(maxDeliveries: 2);
        await transport.SendAsync([Range("run4", 7)]);
        for (int delivery = 1; delivery <= 2; delivery++)
        {
            ReceivedWork range = (await transport.ReceiveAsync(TimeSpan.FromSeconds(5)))!;
            Assert.Equal(delivery, range.DeliveryCount);
            await range.AbandonAsync();
        }

        ReceivedWork exhausted = (await transport.ReceiveAsync(TimeSpan.FromSeconds(5)))!;
        Assert.Equal(3, exhausted.DeliveryCount);
        await exhausted.DeadLetterAsync("delivered 2 times without completion");
        Assert.Null(await transport.ReceiveAsync(TimeSpan.FromSeconds(2)));
        (WorkMessage? message, string reason) = Assert.Single(await transport.PeekDeadLettersAsync(10));
        Assert.Equal("run4:range:7", message!.MessageId);
        Assert.Equal("delivered 2 times without completion", reason);
    }

    [SkippableFact]
    public async Task A_body_that_is_not_a_range_is_dead_lettered_with_the_reason_and_the_next_range_still_arrives()
    {
        var options = new WorkQueueOptions { QueueName = $"ranges-{Guid.NewGuid():N}"[..20], MaxDeliveryCount = 3, LockDuration = TimeSpan.FromSeconds(30) };
        await using IWorkTransport transport = await CreateAsync(options);
        await SendRawAsync(options, "not json at all");
        await SendRawAsync(options, "{\"runId\": \"run6\", \"work\": {\"kind\": \"Explode\"}}");
        await SendRawAsync(options, "{\"runId\": \"run6\"}");
        await transport.SendAsync([Range("run6", 1)]);

        ReceivedWork range = (await transport.ReceiveAsync(TimeSpan.FromSeconds(5)))!;
        Assert.Equal("run6:range:1", range.Message.MessageId);
        await range.CompleteAsync();
        Assert.Null(await transport.ReceiveAsync(TimeSpan.FromSeconds(1)));

        IReadOnlyList<(WorkMessage? Message, string Reason)> dead = await transport.PeekDeadLettersAsync(10);
        Assert.Equal(3, dead.Count);
        Assert.All(dead, d => Assert.Null(d.Message));
        Assert.Equal(2, dead.Count(d => d.Reason.StartsWith("the message is not a piece of work:", StringComparison.Ordinal)));
        Assert.Contains(dead, d => d.Reason == "the message lacks its run id, slide, slide version, plan, model or work.");
    }

    [SkippableFact]
    public async Task A_worker_can_dead_letter_a_range_with_its_reason()
    {
        await using IWorkTransport transport = await Fresh();
        await transport.SendAsync([Range("run5", 3)]);
        ReceivedWork range = (await transport.ReceiveAsync(TimeSpan.FromSeconds(5)))!;
        await range.DeadLetterAsync("slides/run5.svs: the file is truncated.");
        Assert.Null(await transport.ReceiveAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal("slides/run5.svs: the file is truncated.", Assert.Single(await transport.PeekDeadLettersAsync(10)).Reason);
    }
}
