using System.Globalization;

namespace DeepSlide.Pipeline.Tests;

/// <summary>
/// A real @vercel/cosmosdb-server (npm) on a free loopback port, started for the test class and stopped after it.
/// It speaks the Cosmos DB REST API over HTTPS with a self-signed certificate, in Gateway mode.
/// </summary>
public sealed class CosmosServerFixture : IAsyncLifetime
{
    // The Cosmos DB emulator's published key; the local server accepts any well-formed key.
    public const string Key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";
    private LocalServer? _server;

    public string Endpoint { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        int port = LocalServer.FreePort();
        _server = await LocalServer.StartAsync("cosmosdb-server", ["-p", port.ToString(CultureInfo.InvariantCulture), "--host", "127.0.0.1"], port);
        Endpoint = $"https://127.0.0.1:{port}/";
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
