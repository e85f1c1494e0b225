using Azure.Core;
using DeepSlide.Pipeline.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace DeepSlide.ServiceDefaults;

/// <summary>What every host of the pipeline adds first, the same way (after eShop's ServiceDefaults).</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>The path the platform's liveness and readiness probes ask.</summary>
    public const string HealthPath = "/healthz";

    /// <summary>
    /// The process's one Entra credential (the user-assigned identity <paramref name="managedIdentityClientId"/>
    /// names, else the default chain), registered as the <see cref="TokenCredential"/> that every Azure client and
    /// the telemetry exporters use; OpenTelemetry traces, logs and metrics; and the health-check service, to which a
    /// host adds its own checks.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName, string? managedIdentityClientId = null)
    {
        TokenCredential credential = Credentials.For(managedIdentityClientId);
        builder.Services.AddSingleton(credential);
        builder.AddPipelineTelemetry(serviceName, credential, managedIdentityClientId);
        builder.Services.AddHealthChecks();
        return builder;
    }

    /// <summary>
    /// <see cref="HealthPath"/>: 200 "ok" while every check is healthy, else 503 with each failing check's name and
    /// description, one per line, for whoever reads the probe's log.
    /// </summary>
    public static IEndpointRouteBuilder MapDefaultEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks(HealthPath, new HealthCheckOptions { ResponseWriter = WriteAsync });
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(report.Status == HealthStatus.Healthy
            ? "ok"
            : string.Join('\n', report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => $"{e.Key}: {e.Value.Description}")));
    }
}
