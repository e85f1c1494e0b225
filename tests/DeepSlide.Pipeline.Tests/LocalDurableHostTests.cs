using DeepSlide.Pipeline.Local;
using DurableTask.AzureStorage;

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
}
