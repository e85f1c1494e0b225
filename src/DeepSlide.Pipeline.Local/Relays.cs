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
        WorkCompletion notice;
        try
        {
            notice = WorkCompletion.FromJson(message.Body.ToString());
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
            await WorkCompletionRelay.RelayAsync(client, notice, cancellationToken);
            await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "relaying {Key} of run {RunId} failed (try {Try})", notice.Work.Key, notice.RunId, message.DequeueCount);
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
/// starts nothing new. A listing that fails is logged and tried again at the next poll, and a name the listing cannot
/// carry is refused with a Failed run like any other name that cannot be a slide: the watcher never stops.
/// </summary>
internal sealed class SlideWatcherService(BlobContainerClient slides, SlideRunStarter starter, LocalPipelineOptions options, ILogger logger) : BackgroundService
{
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly SlideListing _listing = new(slides);
    private string? _lastProblem;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (ListedSlide blob in _listing.ListAsync(stoppingToken))
                {
                    if (blob.ETag is null)
                    {
                        if (_seen.Add($"unlistable\n{blob.Name}"))
                        {
                            await RefuseUnlistableAsync(blob.Name, stoppingToken);
                        }
                    }
                    else if (_seen.Add($"{blob.Name}\n{blob.ETag}"))
                    {
                        await StartAsync(blob.Name, blob.ETag, stoppingToken);
                    }
                }

                _lastProblem = null;
                await Task.Delay(options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Said once per distinct problem, not at every poll.
                if (ex.Message != _lastProblem)
                {
                    logger.LogWarning("listing the '{Container}' container failed ({Reason}); trying again", slides.Name, ex.Message);
                    _lastProblem = ex.Message;
                }

                try
                {
                    await Task.Delay(options.PollInterval * 5, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task RefuseUnlistableAsync(string readable, CancellationToken cancellationToken)
    {
        string reason = $"a blob in '{slides.Name}' whose name starts '{SlideBlobName.Printable(readable)}' and then has a character XML cannot carry (a control character) can't be listed by the local storage emulator, so it is not classified; delete or rename it. (In Azure such a name is refused as a slide name.)";
        logger.LogWarning("{Reason}", reason);
        try
        {
            await starter.RefuseAsync(readable, reason, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            _seen.Remove($"unlistable\n{readable}");
            logger.LogWarning(ex, "could not record the refusal of '{Slide}…'", SlideBlobName.Printable(readable));
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
