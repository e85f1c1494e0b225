using DeepSlide.Pipeline.Local;

namespace DeepSlide.Pipeline.Tests;

/// <summary>A real Azurite (blob, queue and table services) on free loopback ports, started for the test class and stopped after it.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private Azurite? _azurite;

    public string ConnectionString => _azurite?.ConnectionString ?? string.Empty;

    public async Task InitializeAsync() => _azurite = await Azurite.StartAsync();

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }
}
