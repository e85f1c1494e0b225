using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using DeepSlide.Orchestration;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Pipeline.Local;

/// <summary>
/// Reads range notices from the completion queue and raises them into their runs: locally what the Functions queue
/// trigger does. A notice that is not JSON goes to <c>{queue}-poison</c>; one that fails to relay comes back after
/// the visibility timeout and goes to the poison queue after five tries, as the Functions host does.
/// </summary>
internal sealed class CompletionRelayService(QueueClient queue, QueueClient poison, DurableTaskClient client, TimeSpan pollInterval, ILogger logger) : BackgroundService
{
    private const int MaxDequeueCount = 5;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
            await poison.CreateIfNotExistsAsync(cancellationToken: stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                QueueMessage[] messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(30), stoppingToken)).Value;
                foreach (QueueMessage message in messages)
                {
                    await RelayAsync(message, stoppingToken);
                }

                if (messages.Length == 0)
                {
                    await Task.Delay(pollInterval / 4, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RelayAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        RangeCompletion notice;
        try
        {
            notice = RangeCompletion.FromJson(message.Body.ToString());
        }
        catch (DeepSlideException ex)
        {
            logger.LogWarning("a completion notice is not readable and goes to {Poison}: {Reason}", poison.Name, ex.Problem);
            await poison.SendMessageAsync(message.Body, cancellationToken: cancellationToken);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            return;
        }

        using IDisposable? scope = logger.BeginScope("run {RunId}", notice.RunId);
        try
        {
            await RangeCompletionRelay.RelayAsync(client, notice, cancellationToken);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "relaying {Key} of run {RunId} failed (try {Try})", notice.Key, notice.RunId, message.DequeueCount);
            if (message.DequeueCount >= MaxDequeueCount)
            {
                await poison.SendMessageAsync(message.Body, cancellationToken: cancellationToken);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
            }
        }
    }
}

/// <summary>
/// Lists the slides container and starts a run for every blob version it has not seen: locally what Event Grid's
/// BlobCreated subscription does. A version seen twice (a restart, a repeated listing) maps to the same run id, so it
/// starts nothing new.
/// </summary>
internal sealed class SlideWatcherService(BlobContainerClient slides, SlideRunStarter starter, LocalPipelineOptions options, ILogger logger) : BackgroundService
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await foreach (BlobItem blob in slides.GetBlobsAsync(cancellationToken: stoppingToken))
                {
                    // Listings give ETags bare; the pipeline passes them quoted, as a blob's properties give them.
                    string etag = blob.Properties.ETag?.ToString("H") ?? string.Empty;
                    if (_seen.Add($"{blob.Name}\n{etag}"))
                    {
                        await StartAsync(blob.Name, etag, stoppingToken);
                    }
                }

                await Task.Delay(options.PollInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task StartAsync(string name, string etag, CancellationToken cancellationToken)
    {
        try
        {
            RunStart start = await starter.StartForUploadAsync(name, etag, options.ModelPrefix, cancellationToken);
            if (start.Rejected is not null)
            {
                logger.LogWarning("{Reason}", start.Rejected);
            }
            else if (start.Started)
            {
                logger.LogInformation("run {RunId} started for {Slide}", start.RunId, name);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Seen again on the next listing.
            _seen.Remove($"{name}\n{etag}");
            logger.LogWarning(ex, "could not start a run for {Slide}", SlideBlobName.Printable(name));
        }
    }
}
