using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Functions;

/// <summary>Slide uploads (Event Grid's BlobCreated) start runs; workers' notices become orchestration events.</summary>
public sealed class TriggerFunctions(ISlideRunStore store, SlideRunRequest defaults, ModelChoice model, ILogger<TriggerFunctions> logger)
{
    [Function("SlideUploaded")]
    public async Task SlideUploadedAsync(
        [BlobTrigger(PipelineNames.SlidesContainer + "/{*name}", Source = BlobTriggerSource.EventGrid, Connection = FunctionsSettings.PipelineStorage)] BlobClient blob,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        BlobProperties properties = await blob.GetPropertiesAsync(cancellationToken: cancellationToken);
        RunStart start = await new SlideRunStarter(client, store, defaults).StartForUploadAsync(blob.Name, properties.ETag.ToString("H"), model.Prefix, cancellationToken);
        using IDisposable? scope = logger.BeginScope("run {RunId}", start.RunId ?? "(refused)");
        if (start.Rejected is not null)
        {
            logger.LogWarning("{Reason}", start.Rejected);
        }
        else
        {
            logger.LogInformation("run {RunId} for {Slide}: {Outcome}", start.RunId, blob.Name, start.Started ? "started" : "already there");
        }
    }

    /// <summary>A notice that is not readable throws; the host retries it and then moves it to the poison queue.</summary>
    [Function("WorkCompleted")]
    public async Task WorkCompletedAsync(
        [QueueTrigger(PipelineNames.CompletionQueue, Connection = FunctionsSettings.PipelineStorage)] string message,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        WorkCompletion notice = WorkCompletion.FromJson(message);
        using IDisposable? scope = logger.BeginScope("run {RunId}", notice.RunId);
        await WorkCompletionRelay.RelayAsync(client, notice, cancellationToken);
    }
}
