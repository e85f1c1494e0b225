using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using DeepSlide.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DeepSlide.Telemetry;

public static class PipelineTelemetryExtensions
{
    /// <summary>
    /// OpenTelemetry traces and logs for the pipeline's sources, exported to Application Insights when
    /// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set and over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is;
    /// with neither, nothing is exported. With <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> (the setting Azure
    /// Functions reads too), ingestion authenticates with a managed identity, so the resource can refuse its key.
    /// </summary>
    public static IHostApplicationBuilder AddPipelineTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        string? appInsights = builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        TokenCredential? credential = IngestionCredential(builder.Configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
        bool otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (string.IsNullOrWhiteSpace(appInsights) && !otlp)
        {
            return builder;
        }

        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeScopes = true;
            if (!string.IsNullOrWhiteSpace(appInsights))
            {
                o.AddAzureMonitorLogExporter(e => (e.ConnectionString, e.Credential) = (appInsights, credential));
            }

            if (otlp)
            {
                o.AddOtlpExporter();
            }
        });
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t =>
            {
                t.AddSource([.. PipelineTelemetry.Sources]);
                if (!string.IsNullOrWhiteSpace(appInsights))
                {
                    t.AddAzureMonitorTraceExporter(e => (e.ConnectionString, e.Credential) = (appInsights, credential));
                }

                if (otlp)
                {
                    t.AddOtlpExporter();
                }
            })
            .WithMetrics(m =>
            {
                m.AddMeter(PipelineTelemetry.MeterName);
                if (!string.IsNullOrWhiteSpace(appInsights))
                {
                    m.AddAzureMonitorMetricExporter(e => (e.ConnectionString, e.Credential) = (appInsights, credential));
                }

                if (otlp)
                {
                    m.AddOtlpExporter();
                }
            });
        return builder;
    }

    /// <summary>
    /// The managed identity that <c>Authorization=AAD</c> asks for: the user-assigned one named by <c>ClientId=…</c>,
    /// else the system-assigned one. Null without a setting; anything else is refused rather than silently ignored.
    /// </summary>
    public static ManagedIdentityCredential? IngestionCredential(string? setting)
    {
        if (string.IsNullOrWhiteSpace(setting))
        {
            return null;
        }

        var parts = setting.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : string.Empty, StringComparer.OrdinalIgnoreCase);
        if (!parts.TryGetValue("Authorization", out string? kind) || !kind.Equals("AAD", StringComparison.OrdinalIgnoreCase) 
            || parts.Keys.Any(k => !k.Equals("Authorization", StringComparison.OrdinalIgnoreCase) && !k.Equals("ClientId", StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"APPLICATIONINSIGHTS_AUTHENTICATION_STRING is '{setting}'; expected 'Authorization=AAD' or 'ClientId=<client id>;Authorization=AAD'.");
        }

        return parts.TryGetValue("ClientId", out string? clientId) && clientId.Length > 0
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
    }
}
