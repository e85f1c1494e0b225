using Azure;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace DeepSlide.Pipeline.Storage;

/// <summary>
/// Tile ranges on an Azure Storage queue: the visibility timeout is the lock, the dequeue count the delivery
/// count, and a <c>{queue}-poison</c> queue takes ranges the worker dead-letters (as the Functions host's poison queue does).
/// Messages are Base64 so a Functions queue trigger can read them too.
/// </summary>
public sealed class StorageQueueTransport : IWorkTransport
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly WorkQueueOptions _options;
    private readonly Lazy<Task> _ready;

    private StorageQueueTransport(QueueClient queue, QueueClient poison, WorkQueueOptions options, bool createIfMissing)
    {
        _queue = queue;
        _poison = poison;
        _options = options;
        _ready = new Lazy<Task>(async () =>
        {
            if (createIfMissing)
            {
                await queue.CreateIfNotExistsAsync();
                await poison.CreateIfNotExistsAsync();
            }
        });
    }

    /// <summary>The transport, built without I/O; its queues are created on first use when <paramref name="createIfMissing"/>.</summary>
    public static StorageQueueTransport Create(QueueServiceClient service, WorkQueueOptions? options = null, bool createIfMissing = true)
    {
        options ??= new WorkQueueOptions();
        return new StorageQueueTransport(service.GetQueueClient(options.QueueName), service.GetQueueClient(options.QueueName + "-poison"), options, createIfMissing);
    }

    public static async Task<StorageQueueTransport> CreateAsync(QueueServiceClient service, WorkQueueOptions? options = null, bool createIfMissing = true, CancellationToken cancellationToken = default)
    {
        StorageQueueTransport transport = Create(service, options, createIfMissing);
        await transport._ready.Value.WaitAsync(cancellationToken);
        return transport;
    }

    public async Task SendAsync(IReadOnlyList<WorkMessage> ranges, CancellationToken cancellationToken = default)
    {
        await _ready.Value.WaitAsync(cancellationToken);
        foreach (WorkMessage range in ranges)
        {
            await _queue.SendMessageAsync(range.ToJson(), cancellationToken);
        }
    }

    public async Task<ReceivedWork?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        await _ready.Value.WaitAsync(cancellationToken);
        DateTime deadline = DateTime.UtcNow + maxWait;
        while (true)
        {
            QueueMessage? message = (await _queue.ReceiveMessageAsync(_options.LockDuration, cancellationToken)).Value;
            if (message is not null)
            {
                string body = message.Body.ToString();
                WorkMessage range;
                try
                {
                    range = WorkMessage.FromJson(body);
                }
                catch (DeepSlideException ex)
                {
                    await PoisonAsync(body, message.MessageId, message.PopReceipt, ex.Problem, cancellationToken);
                    continue;
                }

                return new Received(this, range, message);
            }

            if (DateTime.UtcNow >= deadline)
            {
                return null;
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    public async Task<IReadOnlyList<(WorkMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default)
    {
        await _ready.Value.WaitAsync(cancellationToken);
        PeekedMessage[] peeked = (await _poison.PeekMessagesAsync(Math.Clamp(max, 1, 32), cancellationToken)).Value;
        return peeked.Select(p => p.Body.ToObjectFromJson<PoisonEnvelope>()!).Select(e => (TryParse(e.Range), e.Reason)).ToList();
    }

    private static WorkMessage? TryParse(string body)
    {
        try
        {
            return WorkMessage.FromJson(body);
        }
        catch (DeepSlideException)
        {
            return null;
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task PoisonAsync(string body, string messageId, string popReceipt, string reason, CancellationToken cancellationToken)
    {
        // Poison first, then delete: a failure in between duplicates the range rather than losing it.
        await _poison.SendMessageAsync(BinaryData.FromObjectAsJson(new PoisonEnvelope(body, reason)), cancellationToken: cancellationToken);
        await _queue.DeleteMessageAsync(messageId, popReceipt, cancellationToken);
    }

    private sealed record PoisonEnvelope(string Range, string Reason);

    private sealed class Received(StorageQueueTransport owner, WorkMessage range, QueueMessage message)
        : ReceivedWork(range, (int)message.DequeueCount)
    {
        private string _popReceipt = message.PopReceipt;

        public override Task CompleteAsync(CancellationToken cancellationToken = default) =>
            owner._queue.DeleteMessageAsync(message.MessageId, _popReceipt, cancellationToken);

        public override async Task AbandonAsync(CancellationToken cancellationToken = default) =>
            _popReceipt = (await owner._queue.UpdateMessageAsync(message.MessageId, _popReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: cancellationToken)).Value.PopReceipt;

        public override Task DeadLetterAsync(string reason, CancellationToken cancellationToken = default) =>
            owner.PoisonAsync(Message.ToJson(), message.MessageId, _popReceipt, reason, cancellationToken);

        public override async Task RenewLockAsync(CancellationToken cancellationToken = default) =>
            _popReceipt = (await owner._queue.UpdateMessageAsync(message.MessageId, _popReceipt, visibilityTimeout: owner._options.LockDuration, cancellationToken: cancellationToken)).Value.PopReceipt;
    }
}
