using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using DeepSlide.Pipeline.Work;

namespace DeepSlide.Worker;

/// <summary>
/// <c>GET /healthz</c> on <see cref="WorkerOptions.HealthPort"/>: 200 while the work loop is alive, 503 once it is
/// stuck, so Container Apps' liveness probe restarts the replica (its ranges come back to the queue).
/// </summary>
internal sealed class HealthEndpointService(WorkerHealth health, int port, ILogger<HealthEndpointService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://+:{port}/");
        listener.Start();
        logger.LogInformation("health endpoint on port {Port}: /healthz", port);
        using CancellationTokenRegistration stop = stoppingToken.Register(listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            bool healthy = health.IsHealthy;
            bool known = context.Request.Url?.AbsolutePath == "/healthz";
            context.Response.StatusCode = !known ? (int)HttpStatusCode.NotFound : healthy ? (int)HttpStatusCode.OK : (int)HttpStatusCode.ServiceUnavailable;
            byte[] body = System.Text.Encoding.UTF8.GetBytes(!known ? "not found" : healthy ? "ok" : $"the work loop has been silent for {health.SinceLastBeat.TotalSeconds:0} s");
            await context.Response.OutputStream.WriteAsync(body, stoppingToken);
            context.Response.Close();
        }
    }
}
