using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Azure.Storage.Blobs;
using DeepSlide.Pipeline.Local;

namespace DeepSlide.Pipeline.Tests;

public class LocalServerTests
{
    [Fact]
    public async Task An_emulator_ends_when_the_process_that_started_it_dies_without_stopping_it()
    {
        // A stand-in owner that dies the way a crashed test host does: SIGKILL, no dispose.
        using Process owner = Process.Start("sleep", "60");
        int port = LocalServer.FreePort();
        await using LocalServer server = await LocalServer.StartOwnedAsync(owner.Id, "cosmosdb-server", ["-p", port.ToString(), "--host", "127.0.0.1"], port);
        Assert.True(await AcceptsAsync(port));

        owner.Kill();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await AcceptsAsync(port) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.False(await AcceptsAsync(port), "the emulator still listens 10 s after its owner died");
    }

    [Fact]
    public async Task A_paused_emulator_is_stopped_until_resumed_and_then_answers()
    {
        await using CosmosServer cosmos = await CosmosServer.StartAsync();
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        Assert.False(await cosmos.Server.IsPausedAsync());

        await cosmos.Server.PauseAsync();
        Assert.True(await cosmos.Server.IsPausedAsync());
        Task<HttpResponseMessage> asked = http.GetAsync(cosmos.Endpoint);

        await cosmos.Server.ResumeAsync();
        Assert.False(await cosmos.Server.IsPausedAsync());
        using HttpResponseMessage answer = await asked;
        Assert.True((int)answer.StatusCode is > 0 and < 600);
    }

    [Fact]
    public async Task What_was_written_to_Azurite_is_there_when_it_starts_again_on_the_same_folder()
    {
        DirectoryInfo folder = Directory.CreateTempSubdirectory("deepslide-azurite-kept-");
        try
        {
            int[] ports = [LocalServer.FreePort(), LocalServer.FreePort(), LocalServer.FreePort()];
            await using (Azurite first = await Azurite.StartAsync(folder.FullName, ports[0], ports[1], ports[2]))
            {
                await UploadSlideAsync(ports);
            }

            await AssertSlideKeptAsync(folder.FullName, ports);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task When_its_owner_dies_Azurite_is_stopped_so_that_it_keeps_what_was_written()
    {
        using Process owner = Process.Start("sleep", "60");
        DirectoryInfo folder = Directory.CreateTempSubdirectory("deepslide-azurite-orphan-");
        try
        {
            int[] ports = [LocalServer.FreePort(), LocalServer.FreePort(), LocalServer.FreePort()];
            await using (LocalServer orphan = await LocalServer.StartOwnedAsync(owner.Id, "azurite", Azurite.Arguments(folder.FullName, ports[0], ports[1], ports[2]), ports))
            {
                await UploadSlideAsync(ports);

                // The owner dies the way a crashed CLI does; the watchdog ends Azurite on its own.
                owner.Kill();
                var deadline = DateTime.UtcNow.AddSeconds(20);
                while (await AcceptsAsync(ports[0]) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(200);
                }

                Assert.False(await AcceptsAsync(ports[0]), "Azurite still listens 20 s after its owner died");
            }

            await AssertSlideKeptAsync(folder.FullName, ports);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_missing_emulator_is_one_clear_error()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => LocalServer.StartAsync("no-such-emulator", [], LocalServer.FreePort()));
        Assert.Equal("no-such-emulator (npm) is needed and is not on PATH; scripts/prerequisites.sh installs it.", ex.Message);
    }

    private static readonly byte[] SlideBytes = [1, 2, 3];

    /// <summary>Writes a slide blob, in a new container, to the Azurite on <paramref name="ports"/> (blob, queue, table).</summary>
    internal static async Task UploadSlideAsync(int[] ports)
    {
        var container = new BlobContainerClient(Azurite.ConnectionStringFor(ports[0], ports[1], ports[2]), "slides");
        await container.CreateAsync();
        await container.UploadBlobAsync("lab-a/case 1.svs", BinaryData.FromBytes(SlideBytes));
    }

    /// <summary>Starts Azurite again on the folder and ports and asserts that the slide <see cref="UploadSlideAsync"/> wrote is there.</summary>
    internal static async Task AssertSlideKeptAsync(string folder, int[] ports)
    {
        await using Azurite again = await Azurite.StartAsync(folder, ports[0], ports[1], ports[2]);
        BlobClient slide = new BlobContainerClient(again.ConnectionString, "slides").GetBlobClient("lab-a/case 1.svs");
        Assert.Equal(SlideBytes, (await slide.DownloadContentAsync()).Value.Content.ToArray());
    }

    internal static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
