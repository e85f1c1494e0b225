using System.Globalization;

namespace DeepSlide.Pipeline.Tests;

/// <summary>
/// A real Azurite (blob, queue and table services) on free loopback ports, started for the test class and stopped
/// after it. Azurite comes from npm (scripts/prerequisites.sh installs it); --skipApiVersionCheck lets the current SDK talk to it.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-azurite-").FullName;
    private LocalServer? _server;

    public string ConnectionString { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        int blob = LocalServer.FreePort(), queue = LocalServer.FreePort(), table = LocalServer.FreePort();
        string P(int port) => port.ToString(CultureInfo.InvariantCulture);
        _server = await LocalServer.StartAsync(
            "azurite",
            [
                "--blobHost", "127.0.0.1", "--blobPort", P(blob), "--queueHost", "127.0.0.1", "--queuePort", P(queue),
                "--tableHost", "127.0.0.1", "--tablePort", P(table), "--location", _folder, "--skipApiVersionCheck", "--silent",
            ],
            blob,
            queue);
        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;";
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }
}
