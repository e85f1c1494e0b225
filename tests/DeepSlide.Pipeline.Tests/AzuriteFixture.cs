using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DeepSlide.Pipeline.Tests;

/// <summary>
/// A real Azurite (blob, queue and table services) on free loopback ports, started for the test class and stopped after it.
/// Azurite comes from npm (scripts/prerequisites.sh installs it); --skipApiVersionCheck lets the current SDK talk to it.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-azurite-").FullName;
    private Process? _process;

    public string ConnectionString { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        int queuePort = FreePort(), blobPort = FreePort(), tablePort = FreePort();
        var start = new ProcessStartInfo("azurite") { RedirectStandardOutput = true, RedirectStandardError = true };
        string P(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (string a in new[]
        {
            "--blobHost", "127.0.0.1", "--blobPort", P(blobPort), "--queueHost", "127.0.0.1", "--queuePort", P(queuePort),
            "--tableHost", "127.0.0.1", "--tablePort", P(tablePort), "--location", _folder, "--skipApiVersionCheck", "--silent",
        })
        {
            start.ArgumentList.Add(a);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("azurite (npm) is needed; scripts/prerequisites.sh installs it.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (int port in new[] { blobPort, queuePort })
        {
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
        }

        ConnectionString = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;";
    }

    public async Task DisposeAsync()
    {
        // Azurite's node process can outlive SIGTERM: kill the tree and wait for it.
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
