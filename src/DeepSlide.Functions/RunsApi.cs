using System.Net;
using System.Text.Json;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask.Client;

namespace DeepSlide.Functions;

/// <summary>What a re-run asks for: the slide's blob name and, optionally, another model bundle's prefix.</summary>
public sealed record RerunRequest(string Slide, string? Model);

/// <summary>
/// The HTTP API: re-run a slide (optionally with another model), a run's status and result, a slide's runs. Reads go
/// to the results store; a running run's live progress comes from the orchestration's custom status.
/// </summary>
public sealed class RunsApi(ISlideRunStore store, PipelineStores stores, SlideRunRequest defaults, ModelChoice model)
{
    /// <summary>The header a client sends to make a re-run safe to retry.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private static JsonSerializerOptions Json => PipelineJson.Options;

    [Function("Rerun")]
    public async Task<HttpResponseData> RerunAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "runs")] HttpRequestData request,
        [DurableClient] DurableTaskClient client,
        FunctionContext context)
    {
        if (CallerRoles.Refusal(request, CallerRoles.ReadWrite) is { } refusal)
        {
            return await ProblemAsync(request, refusal.Status, refusal.Detail);
        }

        RerunRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<RerunRequest>(request.Body, Json, context.CancellationToken);
        }
        catch (JsonException ex)
        {
            return await ProblemAsync(request, HttpStatusCode.BadRequest, $"the body is not a re-run request: {ex.Message}");
        }

        if (body is null || SlideBlobName.Problem(body.Slide) is { } problem)
        {
            return await ProblemAsync(request, HttpStatusCode.BadRequest, $"slide '{SlideBlobName.Printable(body?.Slide)}' was rejected: {SlideBlobName.Problem(body?.Slide)}");
        }

        BlobVersion? slide = await stores.Slides.GetVersionAsync(body.Slide, context.CancellationToken);
        if (slide is null)
        {
            return await ProblemAsync(request, HttpStatusCode.NotFound, $"slide '{body.Slide}' is not in the {PipelineNames.SlidesContainer} container.");
        }

        string modelPrefix = string.IsNullOrWhiteSpace(body.Model) ? model.Prefix : body.Model;
        if (await stores.Models.GetVersionAsync($"{modelPrefix.TrimEnd('/')}/manifest.json", context.CancellationToken) is null)
        {
            return await ProblemAsync(request, HttpStatusCode.NotFound, $"no model bundle is stored under '{modelPrefix}' in the {PipelineNames.ModelsContainer} container.");
        }

        // A client that retries a re-run (a timeout, a dropped connection) sends the same Idempotency-Key and gets the
        // same run instead of a second one; without a key every request is a new re-run.
        string? key = request.Headers.TryGetValues(IdempotencyKeyHeader, out IEnumerable<string>? keys) ? keys.FirstOrDefault()?.Trim() : null;
        if (key is { Length: > 200 } || (key is not null && key.Any(char.IsControl)))
        {
            return await ProblemAsync(request, HttpStatusCode.BadRequest, $"the {IdempotencyKeyHeader} header must be at most 200 printable characters.");
        }

        RunStart start = await new SlideRunStarter(client, store, defaults).StartRerunAsync(body.Slide, slide.ETag, modelPrefix, string.IsNullOrEmpty(key) ? context.InvocationId : $"key:{key}", context.CancellationToken);
        HttpResponseData response = request.CreateResponse(HttpStatusCode.Accepted);
        string slideId = SlideRun.SlideIdOf(body.Slide);
        response.Headers.Add("Location", $"/api/runs/{Uri.EscapeDataString(slideId)}/{start.RunId}");
        await response.WriteAsJsonAsync(new { runId = start.RunId, slideId, status = RunStatus.Planning });
        response.StatusCode = HttpStatusCode.Accepted;
        return response;
    }

    [Function("ListRuns")]
    public async Task<HttpResponseData> ListAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "runs/{slideId}")] HttpRequestData request,
        string slideId,
        FunctionContext context)
    {
        if (CallerRoles.Refusal(request, CallerRoles.Read, CallerRoles.ReadWrite) is { } refusal)
        {
            return await ProblemAsync(request, refusal.Status, refusal.Detail);
        }

        HttpResponseData response = request.CreateResponse(HttpStatusCode.OK);
        await response.WriteAsJsonAsync(await store.ListAsync(slideId, context.CancellationToken));
        return response;
    }

    [Function("GetRun")]
    public async Task<HttpResponseData> GetAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "runs/{slideId}/{runId}")] HttpRequestData request,
        string slideId,
        string runId,
        [DurableClient] DurableTaskClient client,
        FunctionContext context)
    {
        if (CallerRoles.Refusal(request, CallerRoles.Read, CallerRoles.ReadWrite) is { } refusal)
        {
            return await ProblemAsync(request, refusal.Status, refusal.Detail);
        }

        SlideRun? run = await store.GetAsync(slideId, runId, context.CancellationToken);
        if (run is null)
        {
            return await ProblemAsync(request, HttpStatusCode.NotFound, $"slide '{slideId}' has no run '{runId}'.");
        }

        OrchestrationMetadata? live = RunStatus.IsFinal(run.Status) ? null : await client.GetInstanceAsync(runId, getInputsAndOutputs: true, context.CancellationToken);
        HttpResponseData response = request.CreateResponse(HttpStatusCode.OK);
        await response.WriteAsJsonAsync(new { run, progress = live?.SerializedCustomStatus });
        return response;
    }

    private static async Task<HttpResponseData> ProblemAsync(HttpRequestData request, HttpStatusCode status, string detail)
    {
        HttpResponseData response = request.CreateResponse();
        await response.WriteAsJsonAsync(new { title = status.ToString(), status = (int)status, detail });
        response.StatusCode = status;
        return response;
    }
}
