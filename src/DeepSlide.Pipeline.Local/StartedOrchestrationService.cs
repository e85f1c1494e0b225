using DurableTask.Core;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Pipeline.Local;

/// <summary>
/// The orchestration service as the gRPC sidecar sees it. The sidecar starts the service only once a worker has
/// connected, but stops it whenever the app stops, from an async void handler, where any exception ends the whole
/// process. Azure Storage's service throws on a stop without a start, and when its storage is gone (the emulator
/// stopped or frozen first) its stop waits 10 minutes for its partition manager and then throws. Here a stop before
/// a start does nothing, a stop during a start waits for it, a stop is given up after <c>stopTimeout</c>, and no
/// stop throws: its failure is logged and kept in <see cref="StopFailure"/>. <see cref="Started"/> lets the host
/// wait until the dispatcher really runs.
/// </summary>
internal sealed class StartedOrchestrationService(IOrchestrationService inner, TimeSpan? stopTimeout = null, ILogger? logger = null) : IOrchestrationService
{
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(30);

    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private Task? _start;

    /// <summary>Completes once the sidecar's dispatcher has started the service.</summary>
    public Task Started => _started.Task;

    /// <summary>Completes when a stop has finished (cleanly or given up), or at once when nothing was started.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>Why the last stop did not finish cleanly (a timeout, or what the service threw); null when it did.</summary>
    public Exception? StopFailure { get; private set; }

    public int TaskOrchestrationDispatcherCount => inner.TaskOrchestrationDispatcherCount;

    public int MaxConcurrentTaskOrchestrationWorkItems => inner.MaxConcurrentTaskOrchestrationWorkItems;

    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => inner.EventBehaviourForContinueAsNew;

    public int TaskActivityDispatcherCount => inner.TaskActivityDispatcherCount;

    public int MaxConcurrentTaskActivityWorkItems => inner.MaxConcurrentTaskActivityWorkItems;

    public async Task StartAsync()
    {
        Task start;
        lock (_gate)
        {
            start = _start ??= inner.StartAsync();
        }

        await start;
        _started.TrySetResult();
    }

    public Task StopAsync() => StopAsync(isForced: false);

    public async Task StopAsync(bool isForced)
    {
        Task? start;
        lock (_gate)
        {
            start = _start;
            _start = null;
        }

        if (start is null)
        {
            _stopped.TrySetResult();
            return;
        }

        try
        {
            await start;
            await inner.StopAsync(isForced).WaitAsync(stopTimeout ?? DefaultStopTimeout);
            StopFailure = null;
        }
        catch (Exception ex)
        {
            // Nothing is left to do on a stop: the task hub's state is in storage, and a host started later resumes it.
            StopFailure = ex;
            logger?.LogWarning(ex, "the orchestration service did not stop cleanly");
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    public Task CreateAsync() => inner.CreateAsync();

    public Task CreateAsync(bool recreateInstanceStore) => inner.CreateAsync(recreateInstanceStore);

    public Task CreateIfNotExistsAsync() => inner.CreateIfNotExistsAsync();

    public Task DeleteAsync() => inner.DeleteAsync();

    public Task DeleteAsync(bool deleteInstanceStore) => inner.DeleteAsync(deleteInstanceStore);

    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) => inner.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);

    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => inner.GetDelayInSecondsAfterOnProcessException(exception);

    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => inner.GetDelayInSecondsAfterOnFetchException(exception);

    public Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken);

    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) => inner.RenewTaskOrchestrationWorkItemLockAsync(workItem);

    public Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem,
        OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState) =>
        inner.CompleteTaskOrchestrationWorkItemAsync(workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);

    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.AbandonTaskOrchestrationWorkItemAsync(workItem);

    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.ReleaseTaskOrchestrationWorkItemAsync(workItem);

    public Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken);

    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem) => inner.RenewTaskActivityWorkItemLockAsync(workItem);

    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage) => inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage);

    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) => inner.AbandonTaskActivityWorkItemAsync(workItem);
}
