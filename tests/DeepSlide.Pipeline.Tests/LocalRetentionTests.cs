using Azure.Storage.Blobs;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.Local;
using Microsoft.Azure.Cosmos;

namespace DeepSlide.Pipeline.Tests;

public sealed class LocalRetentionTests(AzuriteFixture azurite, CosmosServerFixture cosmos) : IClassFixture<AzuriteFixture>, IClassFixture<CosmosServerFixture>
{
    [Fact]
    public async Task Clean_removes_old_finished_runs_outputs_and_slides_and_leaves_recent_and_unfinished_ones()
    {
        var service = new BlobServiceClient(azurite.ConnectionString);
        BlobContainerClient results = (await service.CreateBlobContainerAsync(PipelineNames.ResultsContainer)).Value;
        BlobContainerClient slides = (await service.CreateBlobContainerAsync(PipelineNames.SlidesContainer)).Value;
        var client = new CosmosClient(cosmos.Endpoint, CosmosServerFixture.Key, CosmosSlideRunStore.ClientOptions(acceptLoopbackCertificate: true));
        CosmosSlideRunStore runs = await CosmosSlideRunStore.CreateAsync(client, PipelineNames.Database, PipelineNames.RunsContainer);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        (string Id, string Slide, string Status, double DaysAgo)[] cases =
        [
            ("run-old", "lab/old.svs", RunStatus.Completed, 10),
            ("run-old-failed", "lab/bad.svs", RunStatus.Failed, 9),
            ("run-shared-old", "lab/shared.svs", RunStatus.Completed, 10),
            ("run-shared-new", "lab/shared.svs", RunStatus.Completed, 1),
            ("run-going", "lab/going.svs", RunStatus.Running, 10),
        ];
        foreach ((string id, string slide, string status, double daysAgo) in cases)
        {
            DateTimeOffset at = now.AddDays(-daysAgo);
            await runs.UpsertAsync(new SlideRun { Id = id, SlideId = SlideRun.SlideIdOf(slide), SlideBlob = slide, SlideETag = "\"1\"", ModelPrefix = "default", CreatedUtc = at, UpdatedUtc = at, Status = status });
            await results.UploadBlobAsync($"runs/{id}/result.json", new BinaryData(new byte[100]));
            await results.UploadBlobAsync($"runs/{id}/pictures/overlay.png", new BinaryData(new byte[900]));
            await slides.GetBlobClient(slide).UploadAsync(new BinaryData(new byte[5000]), overwrite: true);
        }

        CleanSummary cleaned = await LocalRetention.CleanAsync(azurite.ConnectionString, runs, now.AddDays(-7), slides: true);

        // Three finished runs are past the cut-off; two of their slides have no kept run, the shared one has.
        Assert.Equal(new CleanSummary(3, 6, (3 * 1000) + (2 * 5000), 2), cleaned);
        Assert.Equal(["run-going", "run-shared-new"], (await runs.ListAllAsync()).Select(r => r.Id).Order());
        var left = new List<string>();
        await foreach (var blob in results.GetBlobsAsync())
        {
            left.Add(blob.Name);
        }

        Assert.Equal(["runs/run-going/pictures/overlay.png", "runs/run-going/result.json", "runs/run-shared-new/pictures/overlay.png", "runs/run-shared-new/result.json"], left);
        Assert.False(await slides.GetBlobClient("lab/old.svs").ExistsAsync());
        Assert.True(await slides.GetBlobClient("lab/shared.svs").ExistsAsync());
        Assert.True(await slides.GetBlobClient("lab/going.svs").ExistsAsync());

        // A second clean finds nothing more.
        Assert.Equal(new CleanSummary(0, 0, 0, 0), await LocalRetention.CleanAsync(azurite.ConnectionString, runs, now.AddDays(-7), slides: true));
    }
}
