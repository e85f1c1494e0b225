using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DeepSlide.Pipeline.Tests;

/// <summary>
/// A real @vercel/cosmosdb-server (npm) on a free loopback port, started for the test class and stopped after it.
/// It speaks the Cosmos DB REST API over HTTPS with a self-signed certificate, in Gateway mode.
/// </summary>
public sealed class CosmosServerFixture : IAsyncLifetime
{
    // The Cosmos DB emulator's published key; the local server accepts any well-formed key.
    public const string Key = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==";
    private Process? _process;

    public string Endpoint { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var start = new ProcessStartInfo("cosmosdb-server") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--host", "127.0.0.1" })
        {
            start.ArgumentList.Add(a);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("cosmosdb-server (npm @vercel/cosmosdb-server) is needed; scripts/prerequisites.sh installs it.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(100);
            }
        }

        Endpoint = $"https://127.0.0.1:{port}/";
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
    }
}
