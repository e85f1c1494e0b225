using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DeepSlide.Pipeline.Cosmos;

namespace DeepSlide.Pipeline.Local;

/// <summary>What a clean removed.</summary>
public sealed record CleanSummary(int Runs, int Blobs, long Bytes, int Slides);

/// <summary>
/// Bounds the local stack's folder: finished runs last updated before a cut-off lose their outputs
/// (<c>results/runs/{runId}/</c>) and their document, and optionally their slide when no later run of it is kept.
/// Runs still going are never touched. Azurite frees the disk of deleted blobs at its next garbage collection (within
/// 10 minutes, and at start).
/// </summary>
public static class LocalRetention
{
    public static async Task<CleanSummary> CleanAsync(string storageConnection, CosmosSlideRunStore runs, DateTimeOffset cutoff, bool slides, CancellationToken cancellationToken = default)
    {
        var service = new BlobServiceClient(storageConnection);
        BlobContainerClient results = service.GetBlobContainerClient(PipelineNames.ResultsContainer);
        BlobContainerClient slideBlobs = service.GetBlobContainerClient(PipelineNames.SlidesContainer);
        IReadOnlyList<SlideRun> all = await runs.ListAllAsync(cancellationToken);
        List<SlideRun> old = [.. all.Where(r => RunStatus.IsFinal(r.Status) && r.UpdatedUtc < cutoff)];
        int blobs = 0, removedSlides = 0;
        long bytes = 0;
        foreach (SlideRun run in old)
        {
            await foreach (BlobItem blob in results.GetBlobsAsync(BlobTraits.None, BlobStates.None, RunBlobs.Folder(run.Id) + "/", cancellationToken))
            {
                await results.DeleteBlobIfExistsAsync(blob.Name, cancellationToken: cancellationToken);
                blobs++;
                bytes += blob.Properties.ContentLength ?? 0;
            }

            await runs.DeleteAsync(run, cancellationToken);
        }

        if (slides)
        {
            var kept = all.Except(old).Select(r => r.SlideBlob).ToHashSet(StringComparer.Ordinal);
            foreach (string slide in old.Select(r => r.SlideBlob).Distinct(StringComparer.Ordinal).Where(s => !kept.Contains(s) && SlideBlobName.Problem(s) is null))
            {
                BlobClient blob = slideBlobs.GetBlobClient(slide);
                if (await blob.ExistsAsync(cancellationToken))
                {
                    bytes += (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value.ContentLength;
                    await blob.DeleteIfExistsAsync(cancellationToken: cancellationToken);
                    removedSlides++;
                }
            }
        }

        return new CleanSummary(old.Count, blobs, bytes, removedSlides);
    }
}
