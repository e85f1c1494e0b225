using System.Diagnostics;
using DeepSlide.Pipeline;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace DeepSlide.Orchestration;

/// <summary>What starting a run came to: of events racing for one upload, one reports <see cref="Started"/>.</summary>
public sealed record RunStart(string? RunId, bool Started, string? Rejected)
{
    public static RunStart Refused(string reason) => new(null, false, reason);
}

/// <summary>
/// Starts runs for the blob trigger (Event Grid in Azure, the blob watcher locally) and the HTTP API. An upload's run
/// id comes from the blob's name and ETag, so a repeated event finds the run already there and starts nothing. A blob
/// name that cannot be a slide is refused before anything reads it, and the refusal is stored as a Failed run, so the
/// lab sees it in the results store. <paramref name="defaults"/> sets how runs are split and watched.
/// </summary>
public sealed class SlideRunStarter(DurableTaskClient client, ISlideRunStore store, SlideRunRequest? defaults = null, TimeProvider? clock = null)
{
    public static readonly ActivitySource Tracing = new(PipelineTelemetry.Trigger);

    private static readonly TimeSpan ClaimTimeout = TimeSpan.FromMinutes(1);

    public Task<RunStart> StartForUploadAsync(string slideBlob, string slideETag, string modelPrefix, CancellationToken cancellationToken = default) =>
        StartAsync(slideBlob, slideETag, modelPrefix, PipelineNames.RunIdForUpload(slideBlob ?? string.Empty, slideETag), cancellationToken);

    public Task<RunStart> StartRerunAsync(string slideBlob, string slideETag, string modelPrefix, string request, CancellationToken cancellationToken = default) =>
        StartAsync(slideBlob, slideETag, modelPrefix, PipelineNames.RunIdForRerun(slideBlob ?? string.Empty, slideETag, modelPrefix, request), cancellationToken);

    /// <summary>
    /// Refuses a blob known only by <paramref name="slideBlob"/> (locally: the readable start of a name the storage
    /// emulator cannot list) with a Failed run filed under that name's slide id.
    /// </summary>
    public Task<RunStart> RefuseAsync(string slideBlob, string reason, CancellationToken cancellationToken = default) =>
        RecordRefusalAsync(PipelineNames.RunIdForUpload(slideBlob, string.Empty), slideBlob, SlideBlobName.Printable(slideBlob) + "…", string.Empty, string.Empty, reason, cancellationToken);

    // A refused name's Failed run is filed under the slide id of the name as given, so a lab that looks the name up
    // finds why it was refused; the document shows the name printable.
    private async Task<RunStart> RecordRefusalAsync(string runId, string slideBlob, string shown, string slideETag, string modelPrefix, string reason, CancellationToken cancellationToken)
    {
        DateTimeOffset now = (clock ?? TimeProvider.System).GetUtcNow();
        await store.UpsertAsync(
            new SlideRun
            {
                Id = runId,
                SlideId = SlideRun.SlideIdOf(string.IsNullOrEmpty(slideBlob) ? shown : slideBlob),
                SlideBlob = shown,
                SlideETag = slideETag,
                ModelPrefix = modelPrefix,
                CreatedUtc = now,
                UpdatedUtc = now,
                Status = RunStatus.Failed,
                Error = reason,
            },
            cancellationToken);
        return RunStart.Refused(reason);
    }

    private async Task<RunStart> StartAsync(string slideBlob, string slideETag, string modelPrefix, string runId, CancellationToken cancellationToken)
    {
        using Activity? span = Tracing.StartActivity("slide uploaded", ActivityKind.Consumer);
        span?.SetTag("deepslide.run_id", runId);
        SlideRun NewRun(string blob)
        {
            DateTimeOffset now = (clock ?? TimeProvider.System).GetUtcNow();
            return new SlideRun
            {
                Id = runId,
                SlideId = SlideRun.SlideIdOf(blob),
                SlideBlob = blob,
                SlideETag = slideETag,
                ModelPrefix = modelPrefix,
                CreatedUtc = now,
                UpdatedUtc = now,
            };
        }

        if (SlideBlobName.Problem(slideBlob) is { } problem)
        {
            string printable = SlideBlobName.Printable(slideBlob);
            string reason = $"slide blob '{printable}' was rejected: {problem}";
            span?.SetStatus(ActivityStatusCode.Error, reason);
            return await RecordRefusalAsync(runId, slideBlob, printable, slideETag, modelPrefix, reason, cancellationToken);
        }

        if (await client.GetInstanceAsync(runId, cancellationToken) is not null)
        {
            return new RunStart(runId, false, null);
        }

        // Events for one upload can arrive together: the first to create the run's document starts it. A start that
        // fails to schedule releases its claim; a claim left by a starter that died before scheduling is taken over
        // after a minute. Either way no upload is lost.
        SlideRun claim = NewRun(slideBlob);
        if (!await store.TryCreateAsync(claim, cancellationToken)
            && (await store.GetAsync(claim.SlideId, runId, cancellationToken) is not { Revision: 0 } stale || claim.CreatedUtc - stale.UpdatedUtc < ClaimTimeout))
        {
            return new RunStart(runId, false, null);
        }

        SlideRunRequest request = (defaults ?? new SlideRunRequest(slideBlob, slideETag, modelPrefix)) with
        {
            SlideBlob = slideBlob,
            SlideETag = slideETag,
            ModelPrefix = modelPrefix,
            TraceParent = span?.Id,
        };
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(SlideRunOrchestrator.Name, request, new StartOrchestrationOptions(runId), cancellationToken);
        }
        catch (Exception)
        {
            // A starter that took over a stale claim can race the one that left it (the client reports its
            // transport's "already exists" error): the other one started the run.
            if (await ScheduledAsync(runId))
            {
                return new RunStart(runId, false, null);
            }

            // Nothing was scheduled: the claim goes, so the event's retry starts the run instead of finding a fresh
            // claim and starting nothing. Should the store fail too, the claim's timeout lets a retry take it over.
            try
            {
                await store.ReleaseClaimAsync(claim, CancellationToken.None);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
            }

            throw;
        }

        return new RunStart(runId, true, null);
    }

    private async Task<bool> ScheduledAsync(string runId)
    {
        try
        {
            return await client.GetInstanceAsync(runId, CancellationToken.None) is not null;
        }
        catch (Exception)
        {
            return false;
        }
    }
}

/// <summary>Turns a worker's notice into the orchestration event (the queue trigger in Azure, a queue listener locally).</summary>
public static class WorkCompletionRelay
{
    public static Task RelayAsync(DurableTaskClient client, WorkCompletion notice, CancellationToken cancellationToken = default) =>
        client.RaiseEventAsync(notice.RunId, WorkCompletion.EventName, notice, cancellationToken);
}
