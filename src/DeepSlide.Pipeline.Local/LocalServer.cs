using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace DeepSlide.Pipeline.Local;

/// <summary>An emulator process (Azurite, cosmosdb-server) on loopback ports: started, awaited, and killed with its children.</summary>
public sealed class LocalServer : IAsyncDisposable
{
    private readonly Process _process;

    private LocalServer(Process process) => _process = process;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts <paramref name="executable"/> and returns once every port accepts connections (30 s at most).</summary>
    public static async Task<LocalServer> StartAsync(string executable, IEnumerable<string> arguments, params int[] ports)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        Process process = Process.Start(start) ?? throw new InvalidOperationException($"{executable} (npm) is needed; scripts/prerequisites.sh installs it.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (int port in ports)
        {
            while (true)
            {
                try
                {
                    using var client = new TcpClient();
                    await client.ConnectAsync(IPAddress.Loopback, port);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(100);
                }
            }
        }

        return new LocalServer(process);
    }

    // Node servers can outlive SIGTERM: kill the whole tree and wait for it.
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
