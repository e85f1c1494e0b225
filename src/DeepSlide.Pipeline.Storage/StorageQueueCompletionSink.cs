using Azure.Storage.Queues;

namespace DeepSlide.Pipeline.Storage;

/// <summary>Range completions on a Storage queue, read by the Functions app's completion trigger.</summary>
public sealed class StorageQueueCompletionSink(QueueClient queue) : IWorkCompletionSink
{
    public const string DefaultQueueName = PipelineNames.CompletionQueue;

    private Lazy<Task>? _creating;

    /// <summary>The sink, built without I/O; its queue is created before the first notice when <paramref name="createIfMissing"/>.</summary>
    public static StorageQueueCompletionSink Create(QueueServiceClient service, string queueName, bool createIfMissing)
    {
        QueueClient client = service.GetQueueClient(queueName);
        return new StorageQueueCompletionSink(client) { _creating = createIfMissing ? new Lazy<Task>(() => client.CreateIfNotExistsAsync()) : null };
    }

    public static async Task<StorageQueueCompletionSink> CreateAsync(QueueServiceClient service, string queueName = DefaultQueueName, bool createIfMissing = true, CancellationToken cancellationToken = default)
    {
        QueueClient queue = service.GetQueueClient(queueName);
        if (createIfMissing)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        return new StorageQueueCompletionSink(queue);
    }

    public async Task SendAsync(WorkCompletion completion, CancellationToken cancellationToken = default)
    {
        if (_creating is not null)
        {
            await _creating.Value.WaitAsync(cancellationToken);
        }

        await queue.SendMessageAsync(completion.ToJson(), cancellationToken);
    }
}
