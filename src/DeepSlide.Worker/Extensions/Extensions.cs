using DeepSlide.Pipeline.Work;
using DeepSlide.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DeepSlide.Worker.Extensions;

public static class Extensions
{
    /// <summary>
    /// The service defaults (the identity <c>Worker__ManagedIdentityClientId</c> names, telemetry, health checks) and
    /// the worker's work, its settings bound from the "Worker" section (<c>Worker__*</c> variables) and validated at
    /// start.
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        IConfigurationSection worker = builder.Configuration.GetSection(WorkerOptions.Section);
        builder.AddServiceDefaults("deepslide-worker", worker[nameof(WorkerOptions.ManagedIdentityClientId)]);
        builder.Services.AddWork();
        return builder;
    }

    /// <summary>
    /// Kestrel on <see cref="WorkerOptions.HealthPort"/> only, serving <see cref="ServiceDefaultsExtensions.HealthPath"/>
    /// for Container Apps' liveness and readiness probes: 503 once the work loop is stuck, so the replica is restarted
    /// and its ranges come back to the queue. Without a port (one machine) it listens on a loopback port of its own.
    /// </summary>
    public static WebApplicationBuilder ListenForHealthProbes(this WebApplicationBuilder builder)
    {
        int port = builder.Configuration.GetSection(WorkerOptions.Section).GetValue<int?>(nameof(WorkerOptions.HealthPort)) ?? 0;
        builder.WebHost.UseUrls(port > 0 ? $"http://+:{port}" : "http://127.0.0.1:0");
        return builder;
    }
}
