using System.Diagnostics;
using Azure.Storage.Blobs;
using DeepSlide.Cli;
using DeepSlide.Pipeline.Local;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepSlide.Cli.Tests;

/// <summary>The local stack as a user drives it: <c>deepslide local upload</c> and <c>local status</c> against <c>local up</c>'s stack.</summary>
public sealed class LocalStackCliTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-local-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [SkippableFact]
    public async Task An_upload_to_a_stack_whose_disk_is_full_is_refused_in_one_line_naming_the_disk()
    {
        // The stack's folder on a 16 MB file system of its own, as a full disk would leave it (root mounts tmpfs; CI runs as root).
        string state = Path.Combine(_folder, "small");
        Directory.CreateDirectory(state);
        using (var mount = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", state]) { RedirectStandardError = true })!)
        {
            mount.WaitForExit();
            Skip.If(mount.ExitCode != 0, $"mounting a tmpfs needs root: {mount.StandardError.ReadToEnd().Trim()}");
        }

        try
        {
            // The "emulator" is a socket that only counts who connects: a refusal must come before any byte is sent.
            var emulator = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            emulator.Start();
            int port = ((System.Net.IPEndPoint)emulator.LocalEndpoint).Port;
            new LocalStackState($"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Azurite.AccountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;", $"https://127.0.0.1:{port}/", "default").Save(state);
            string slide = Path.Combine(_folder, "big case.svs");
            await using (FileStream file = File.Create(slide))
            {
                file.SetLength(20L << 20);
            }

            CliResult result = await CliRun.RunAsync("local", "upload", slide, "--state", state);
            Assert.Equal(2, result.ExitCode);
            string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains(slide, line);
            Assert.Contains($"the disk is full: {state} (holding {state})", line);
            Assert.DoesNotContain("   at ", result.Error);

            Assert.False(emulator.Pending(), "the upload connected to the storage emulator before refusing");
            emulator.Stop();
        }
        finally
        {
            using var umount = System.Diagnostics.Process.Start("umount", [state]);
            umount.WaitForExit();
        }
    }

    [Fact]
    public async Task An_upload_to_a_stack_that_does_not_answer_fails_in_one_line_naming_the_slide_and_the_cause()
    {
        // A port nothing listens on: the storage emulator has stopped (or its disk filled and it died).
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        string state = Path.Combine(_folder, "dead");
        Directory.CreateDirectory(state);
        new LocalStackState(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Azurite.AccountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
            "https://127.0.0.1:1/",
            "default").Save(state);
        string slide = Path.Combine(_folder, "case 1.svs");
        await File.WriteAllBytesAsync(slide, new byte[4096]);

        CliResult result = await CliRun.RunAsync("local", "upload", slide, "--state", state);
        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(slide, line);
        Assert.Contains("the upload to the local stack", line);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public async Task Twenty_concurrent_uploads_and_an_unlistable_name_all_show_in_status_and_still_do_after_a_restart()
    {
        string state = Path.Combine(_folder, "state");
        string slide = Path.Combine(_folder, "x.svs");
        await File.WriteAllTextAsync(slide, "not a slide");
        string[] names = [.. Enumerable.Range(0, 20).Select(i => $"lab/slide-{i:00}.svs")];
        const string unlistable = "raw/ctl\u0001.tif";

        await using (LocalStack stack = await LocalStack.StartAsync(state, workers: 0, modelFolder: null, NullLoggerFactory.Instance))
        {
            // Separate processes, as people and scripts run them.
            int[] exits = await Task.WhenAll(names.Select(name => UploadProcessAsync(slide, state, name)));
            Assert.All(exits, exit => Assert.Equal(0, exit));

            // Put by another storage client: Azurite then fails every listing of the container.
            await new BlobContainerClient(stack.State.StorageConnection, "slides").GetBlobClient(unlistable).UploadAsync(new BinaryData("x"u8.ToArray()));

            string status = await StatusUntilAsync(state, s => names.All(s.Contains) && s.Contains("raw/ctl…", StringComparison.Ordinal));
            Assert.Equal(21, status.Split('\n').Count(l => l.Contains("  run-", StringComparison.Ordinal)));
            CliResult one = await CliRun.RunAsync("local", "status", unlistable, "--state", state);
            Assert.Contains("raw/ctl…", one.Output);
            Assert.Contains("Failed", one.Output);
            Assert.Contains("can't be listed by the local storage emulator", one.Output);

            // An upload after the unlistable name is still picked up.
            Assert.Equal(0, await UploadProcessAsync(slide, state, "zz/after.svs"));
            await StatusUntilAsync(state, s => s.Contains("zz/after.svs", StringComparison.Ordinal));
        }

        await using (LocalStack restarted = await LocalStack.StartAsync(state, workers: 0, modelFolder: null, NullLoggerFactory.Instance))
        {
            CliResult status = await CliRun.RunAsync("local", "status", "--state", state);
            Assert.All(names.Append("zz/after.svs").Append("raw/ctl…"), name => Assert.Contains(name, status.Output));

            // Clean takes only finished runs: the refusal (Failed), not the uploads no worker has taken.
            CliResult clean = await CliRun.RunAsync("local", "clean", "--older-than", "0", "--state", state);
            Assert.True(clean.ExitCode == 0, clean.Error);
            Assert.StartsWith("removed 1 finished run(s) older than 0 days", clean.Output);
            Assert.DoesNotContain("raw/ctl…", (await CliRun.RunAsync("local", "status", "--state", state)).Output);
        }
    }

    private static async Task<string> StatusUntilAsync(string state, Func<string, bool> done)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(90); ; await Task.Delay(500))
        {
            CliResult status = await CliRun.RunAsync("local", "status", "--state", state);
            Assert.Equal(0, status.ExitCode);
            if (done(status.Output))
            {
                return status.Output;
            }

            Assert.True(DateTime.UtcNow < deadline, status.Output);
        }
    }

    private static async Task<int> UploadProcessAsync(string slide, string state, string name)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { typeof(DeepSlideCli).Assembly.Location, "local", "upload", slide, "--state", state, "--name", name })
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync(), error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await output + await error);
        return process.ExitCode;
    }
}
