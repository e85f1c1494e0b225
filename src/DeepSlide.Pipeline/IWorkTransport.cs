namespace DeepSlide.Pipeline;

/// <summary>Settings every tile-range transport honours.</summary>
public sealed record WorkQueueOptions
{
    public string QueueName { get; init; } = "tile-ranges";

    /// <summary>
    /// After this many deliveries without completion a range is given up: the next delivery is handed over once more
    /// (<see cref="ReceivedWork.DeliveryCount"/> above this), so the worker can dead-letter it and tell the run, which
    /// sends it again; a broker that dead-letters on its own must allow one delivery more than this.
    /// </summary>
    public int MaxDeliveryCount { get; init; } = 5;

    /// <summary>How long a received range stays hidden from other workers before it is delivered again.</summary>
    public TimeSpan LockDuration { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Carries tile ranges from the orchestration to inference workers, at least once. A received body that is not a
/// range is dead-lettered with the reason, never handed to a worker; a range delivered too often is handed over,
/// since only the worker can tell its run.
/// </summary>
public interface IWorkTransport : IAsyncDisposable
{
    Task SendAsync(IReadOnlyList<WorkMessage> ranges, CancellationToken cancellationToken = default);

    /// <summary>The next range, locked to this receiver, or null when none arrives within <paramref name="maxWait"/>.</summary>
    Task<ReceivedWork?> ReceiveAsync(TimeSpan maxWait, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ranges that were dead-lettered, with their reasons (for operators and tests); a message that was never a range
    /// (a body that does not parse) comes with a null message.
    /// </summary>
    Task<IReadOnlyList<(WorkMessage? Message, string Reason)>> PeekDeadLettersAsync(int max, CancellationToken cancellationToken = default);
}

/// <summary>A range a worker holds: complete it when its output is stored, or give it back.</summary>
public abstract class ReceivedWork(WorkMessage message, int deliveryCount)
{
    public WorkMessage Message { get; } = message;

    /// <summary>1 on the first delivery.</summary>
    public int DeliveryCount { get; } = deliveryCount;

    public abstract Task CompleteAsync(CancellationToken cancellationToken = default);

    /// <summary>Makes the range visible to workers again now.</summary>
    public abstract Task AbandonAsync(CancellationToken cancellationToken = default);

    public abstract Task DeadLetterAsync(string reason, CancellationToken cancellationToken = default);

    /// <summary>Extends the lock, for ranges whose inference outlasts <see cref="WorkQueueOptions.LockDuration"/>.</summary>
    public abstract Task RenewLockAsync(CancellationToken cancellationToken = default);
}
