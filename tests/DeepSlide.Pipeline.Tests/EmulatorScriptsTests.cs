using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using DeepSlide.Pipeline.Local;

namespace DeepSlide.Pipeline.Tests;

/// <summary>azurite/start.sh and stop.sh, which people run by hand: what they start, they stop.</summary>
public class EmulatorScriptsTests
{
    [Fact]
    public async Task The_emulators_started_by_hand_stop_on_SIGTERM_keeping_what_was_uploaded_and_Azurite_keeps_no_telemetry()
    {
        DirectoryInfo data = Directory.CreateTempSubdirectory("deepslide-emulators-");
        string temp = data.CreateSubdirectory("tmp").FullName;
        int blob = FreeRun(3);
        int cosmos = LocalServer.FreePort();
        int[] ports = [blob, blob + 1, blob + 2];
        int[] listening = [.. ports, cosmos];
        var environment = new Dictionary<string, string>
        {
            ["AZURITE_DATA"] = data.FullName,
            ["AZURITE_BLOB_PORT"] = blob.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["COSMOS_PORT"] = cosmos.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["TMPDIR"] = temp,
        };
        var pids = new List<int>();
        try
        {
            (int started, string said) = await RunAsync("start.sh", environment);
            Assert.True(started == 0, said);
            pids.AddRange(new[] { "azurite", "cosmosdb-server" }.Select(n => int.Parse(File.ReadAllText(Path.Combine(data.FullName, $"{n}.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture)));
            foreach (int port in listening)
            {
                Assert.True(await ListensWithinAsync(port, TimeSpan.FromSeconds(30)), $"nothing listens on {port} 30 s after start.sh");
            }

            await LocalServerTests.UploadSlideAsync(ports);

            (int stopped, string output) = await RunAsync("stop.sh", environment);

            Assert.Equal(0, stopped);
            Assert.Equal(["stopped azurite", "stopped cosmosdb-server"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            foreach (int port in listening)
            {
                Assert.False(await LocalServerTests.AcceptsAsync(port), $"{port} still listens after stop.sh");
            }

            Assert.Empty(Directory.EnumerateFileSystemEntries(temp));

            await LocalServerTests.AssertSlideKeptAsync(data.FullName, ports);
        }
        finally
        {
            foreach (int pid in pids)
            {
                try
                {
                    Process.GetProcessById(pid).Kill(entireProcessTree: true);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // Stopped, as it should be.
                }
            }

            data.Delete(recursive: true);
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string script, Dictionary<string, string> environment)
    {
        string root = typeof(EmulatorScriptsTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "azurite", script)]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach ((string key, string value) in environment)
        {
            start.Environment[key] = value;
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + stderr);
    }

    // Azurite takes three ports in a row from the one start.sh is given.
    private static int FreeRun(int count)
    {
        while (true)
        {
            int first = LocalServer.FreePort();
            if (first + count <= IPEndPoint.MaxPort && Enumerable.Range(first + 1, count - 1).All(Free))
            {
                return first;
            }
        }
    }

    private static bool Free(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<bool> ListensWithinAsync(int port, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await LocalServerTests.AcceptsAsync(port))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }
}
