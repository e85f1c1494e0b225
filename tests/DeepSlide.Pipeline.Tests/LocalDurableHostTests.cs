using System.Reflection;
using DeepSlide.Pipeline.Local;
using DurableTask.AzureStorage;
using DurableTask.Core;

namespace DeepSlide.Pipeline.Tests;

public sealed class LocalDurableHostTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    [Fact]
    public async Task The_sidecars_stop_without_a_start_is_harmless_and_Started_completes_only_after_a_start()
    {
        var service = new AzureStorageOrchestrationService(new AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = $"hub{Guid.NewGuid():N}"[..13],
            StorageAccountClientProvider = new StorageAccountClientProvider(azurite.ConnectionString),
            PartitionCount = 1,
        });
        await service.CreateIfNotExistsAsync();

        // What the sidecar does when it stops before any worker connected, on the service itself: it throws, and
        // from the sidecar's async void handler that ends the process.
        await Assert.ThrowsAsync<NullReferenceException>(() => service.StopAsync());

        var wrapped = new StartedOrchestrationService(service);
        await wrapped.StopAsync();
        Assert.False(wrapped.Started.IsCompleted);
        await wrapped.StartAsync();
        Assert.True(wrapped.Started.IsCompletedSuccessfully);
        await wrapped.StopAsync();
        await wrapped.StopAsync();
    }

    [Fact]
    public async Task A_stop_that_hangs_or_throws_is_given_up_without_throwing_since_the_sidecar_stops_from_an_async_void_handler()
    {
        // As Azure Storage's service does when its storage is gone: its stop waits 10 minutes, then throws.
        var hanging = new StartedOrchestrationService(StoppingService.Create(new TaskCompletionSource().Task), TimeSpan.FromMilliseconds(200));
        await hanging.StartAsync();
        Assert.False(hanging.Stopped.IsCompleted);
        await hanging.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.IsType<TimeoutException>(hanging.StopFailure);
        Assert.True(hanging.Stopped.IsCompletedSuccessfully);

        var throwing = new StartedOrchestrationService(StoppingService.Create(Task.FromException(new InvalidOperationException("partition manager"))));
        await throwing.StartAsync();
        await throwing.StopAsync(isForced: true);
        Assert.Equal("partition manager", Assert.IsType<InvalidOperationException>(throwing.StopFailure).Message);
    }

    // An orchestration service that starts at once and stops with the task it is given; nothing else is called.
    public class StoppingService : DispatchProxy
    {
        private Task _stop = Task.CompletedTask;

        public static IOrchestrationService Create(Task stop)
        {
            IOrchestrationService service = Create<IOrchestrationService, StoppingService>();
            ((StoppingService)(object)service)._stop = stop;
            return service;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(IOrchestrationService.StartAsync) => Task.CompletedTask,
            nameof(IOrchestrationService.StopAsync) => _stop,
            _ => throw new NotSupportedException(targetMethod?.Name),
        };
    }
}
