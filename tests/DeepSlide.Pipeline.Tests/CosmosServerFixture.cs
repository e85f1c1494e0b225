using DeepSlide.Pipeline.Local;

namespace DeepSlide.Pipeline.Tests;

/// <summary>A real @vercel/cosmosdb-server on a free loopback port, started for the test class and stopped after it.</summary>
public sealed class CosmosServerFixture : IAsyncLifetime
{
    public const string Key = CosmosServer.Key;
    private CosmosServer? _server;

    public string Endpoint => _server?.Endpoint ?? string.Empty;

    public async Task InitializeAsync() => _server = await CosmosServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
