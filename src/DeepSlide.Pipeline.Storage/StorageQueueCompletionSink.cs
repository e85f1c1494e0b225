using Azure.Storage.Queues;

namespace DeepSlide.Pipeline.Storage;

/// <summary>Range completions on a Storage queue, read by the Functions app's completion trigger.</summary>
public sealed class StorageQueueCompletionSink(QueueClient queue) : IRangeCompletionSink
{
    public const string DefaultQueueName = PipelineNames.CompletionQueue;

    public static async Task<StorageQueueCompletionSink> CreateAsync(QueueServiceClient service, string queueName = DefaultQueueName, bool createIfMissing = true, CancellationToken cancellationToken = default)
    {
        QueueClient queue = service.GetQueueClient(queueName);
        if (createIfMissing)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        return new StorageQueueCompletionSink(queue);
    }

    public Task SendAsync(RangeCompletion completion, CancellationToken cancellationToken = default) =>
        queue.SendMessageAsync(completion.ToJson(), cancellationToken);
}
