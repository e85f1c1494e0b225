using Azure.Messaging.ServiceBus;

namespace DeepSlide.Pipeline.ServiceBus;

/// <summary>
/// Work on an Azure Service Bus queue in peek-lock mode. The message id is <see cref="WorkMessage.MessageId"/>: the
/// same for every send of one attempt, so duplicate detection drops a repeated dispatch of it (an activity run
/// twice), and different for a re-dispatch after the run's deadline, which must reach a worker even while the first
/// attempt's message is still within the detection window. A message delivered more often than
/// <see cref="WorkQueueOptions.MaxDeliveryCount"/> is handed to the worker, which dead-letters it and tells its run;
/// the queue's own MaxDeliveryCount, set by the deployment one higher, is the broker's backstop.
/// </summary>
public sealed class ServiceBusTransport : IWorkTransport
{
    private readonly ServiceBusSender _sender;
    private readonly ServiceBusReceiver _receiver;
    private readonly ServiceBusReceiver _deadLetters;
    private readonly WorkQueueOptions _options;
    private readonly ServiceBusClient? _owned;

    /// <param name="client">The namespace's client; disposed with the transport when <paramref name="ownsClient"/>.</param>
    /// <param name="options">The queue and its lock and delivery settings.</param>
    /// <param name="ownsClient">Whether the transport made the client for itself, so closing it is the transport's job.</param>
    public ServiceBusTransport(ServiceBusClient client, WorkQueueOptions? options = null, bool ownsClient = false)
    {
        _options = options ?? new WorkQueueOptions();
        _owned = ownsClient ? client : null;
        _sender = client.CreateSender(_options.QueueName);
        _receiver = client.CreateReceiver(_options.QueueName, new ServiceBusReceiverOptions { ReceiveMode = ServiceBusReceiveMode.PeekLock });
        _deadLetters = client.CreateReceiver(_options.QueueName, new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
    }

    public async Task SendAsync(IReadOnlyList<WorkMessage> ranges, CancellationToken cancellationToken = default)
    {
        foreach (WorkMessage[] chunk in ranges.Chunk(100))
        {
            await _sender.SendMessagesAsync(
                chunk.Select(r => new ServiceBusMessage(r.ToJson()) { MessageId = r.MessageId, ContentType = "application/json", Subject = "work" }),
                cancellationToken);
        }
    }

    public async Task<ReceivedWork?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ServiceBusReceivedMessage? message = await _receiver.ReceiveMessageAsync(maxWait, cancellationToken);
            if (message is null)
            {
                return null;
            }

            WorkMessage range;
            try
            {
                range = WorkMessage.FromJson(message.Body.ToString());
            }
            catch (DeepSlideException ex)
            {
                await _receiver.DeadLetterMessageAsync(message, "NotATileRange", ex.Problem, cancellationToken);
                continue;
            }

            return new Received(this, range, message);
        }
    }

    public async Task<IReadOnlyList<(WorkMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<ServiceBusReceivedMessage> messages = await _deadLetters.PeekMessagesAsync(max, cancellationToken: cancellationToken);
        return messages.Select(m => (TryParse(m.Body.ToString()), m.DeadLetterErrorDescription ?? m.DeadLetterReason ?? string.Empty)).ToList();
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

    public async ValueTask DisposeAsync()
    {
        await _sender.DisposeAsync();
        await _receiver.DisposeAsync();
        await _deadLetters.DisposeAsync();
        if (_owned is not null)
        {
            await _owned.DisposeAsync();
        }
    }

    private sealed class Received(ServiceBusTransport owner, WorkMessage range, ServiceBusReceivedMessage message)
        : ReceivedWork(range, message.DeliveryCount)
    {
        public override Task CompleteAsync(CancellationToken cancellationToken = default) => owner._receiver.CompleteMessageAsync(message, cancellationToken);

        public override Task AbandonAsync(CancellationToken cancellationToken = default) => owner._receiver.AbandonMessageAsync(message, cancellationToken: cancellationToken);

        public override Task DeadLetterAsync(string reason, CancellationToken cancellationToken = default) =>
            owner._receiver.DeadLetterMessageAsync(message, "RangeFailed", reason, cancellationToken);

        public override Task RenewLockAsync(CancellationToken cancellationToken = default) => owner._receiver.RenewMessageLockAsync(message, cancellationToken);
    }
}
