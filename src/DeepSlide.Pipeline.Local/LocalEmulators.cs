using System.Globalization;

namespace DeepSlide.Pipeline.Local;

/// <summary>
/// Azurite (blob, queue, table) from npm, started with <c>--skipApiVersionCheck</c> so the current SDKs can talk to it,
/// and with <c>--disableTelemetry</c>: by default Azurite sends usage telemetry from the lab's machine to Microsoft,
/// and where it cannot reach the endpoint it keeps the telemetry in files under TMPDIR and outlives SIGTERM.
/// </summary>
public sealed class Azurite : IAsyncDisposable
{
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly LocalServer _server;
    private readonly string? _ownedFolder;

    private Azurite(LocalServer server, string connectionString, string? ownedFolder)
    {
        _server = server;
        ConnectionString = connectionString;
        _ownedFolder = ownedFolder;
    }

    public string ConnectionString { get; }

    public LocalServer Server => _server;

    public static string ConnectionStringFor(int blob, int queue, int table) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{table}/devstoreaccount1;";

    /// <summary>Starts Azurite on free ports (or the given ones) with its data in <paramref name="folder"/> (a temporary one, deleted after, when null).</summary>
    public static async Task<Azurite> StartAsync(string? folder = null, int? blobPort = null, int? queuePort = null, int? tablePort = null)
    {
        string? owned = folder is null ? Directory.CreateTempSubdirectory("deepslide-azurite-").FullName : null;
        folder ??= owned!;
        Directory.CreateDirectory(folder);
        (LocalServer server, int[] ports) = await LocalServer.StartOnPortsAsync("azurite", [blobPort, queuePort, tablePort], p => Arguments(folder, p[0], p[1], p[2]));
        return new Azurite(server, ConnectionStringFor(ports[0], ports[1], ports[2]), owned);
    }

    /// <summary>Azurite's command line for its data in <paramref name="folder"/> and the three ports on loopback.</summary>
    public static string[] Arguments(string folder, int blob, int queue, int table)
    {
        static string P(int port) => port.ToString(CultureInfo.InvariantCulture);
        return
        [
            "--blobHost", "127.0.0.1", "--blobPort", P(blob), "--queueHost", "127.0.0.1", "--queuePort", P(queue),
            "--tableHost", "127.0.0.1", "--tablePort", P(table), "--location", folder, "--skipApiVersionCheck", "--silent", "--disableTelemetry",
        ];
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        if (_ownedFolder is not null)
        {
            Directory.Delete(_ownedFolder, recursive: true);
        }
    }
}

/// <summary>
/// @vercel/cosmosdb-server from npm: the Cosmos DB REST API over HTTPS with a self-signed certificate, in Gateway mode.
/// </summary>
public sealed class CosmosServer : IAsyncDisposable
{
    /// <summary>The Cosmos DB emulator's published key; the local server accepts any well-formed key.</summary>
    public const string Key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";

    private readonly LocalServer _server;

    private CosmosServer(LocalServer server, string endpoint)
    {
        _server = server;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    public LocalServer Server => _server;

    public static async Task<CosmosServer> StartAsync(int? port = null)
    {
        (LocalServer server, int[] ports) = await LocalServer.StartOnPortsAsync(
            "cosmosdb-server", [port], p => ["-p", p[0].ToString(CultureInfo.InvariantCulture), "--host", "127.0.0.1"]);
        return new CosmosServer(server, $"https://127.0.0.1:{ports[0]}/");
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
