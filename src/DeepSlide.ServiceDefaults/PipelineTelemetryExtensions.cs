using Azure.Core;
using Azure.Monitor.OpenTelemetry.Exporter;
using DeepSlide.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DeepSlide.ServiceDefaults;

public static class PipelineTelemetryExtensions
{
    /// <summary>
    /// OpenTelemetry traces, logs and metrics for the pipeline's sources, exported to Application Insights when
    /// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set and over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is;
    /// with neither, nothing is exported. With <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> (the setting Azure
    /// Functions reads too), ingestion authenticates with the process's own credential, so the resource can refuse
    /// its key.
    /// </summary>
    internal static IHostApplicationBuilder AddPipelineTelemetry(this IHostApplicationBuilder builder, string serviceName, TokenCredential credential, string? managedIdentityClientId)
    {
        string? appInsights = builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
        TokenCredential? ingestion = IngestionCredential(builder.Configuration["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], credential, managedIdentityClientId);
        bool otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (string.IsNullOrWhiteSpace(appInsights) && !otlp)
        {
            return builder;
        }

        bool azureMonitor = !string.IsNullOrWhiteSpace(appInsights);
        void Configure(AzureMonitorExporterOptions e) => (e.ConnectionString, e.Credential) = (appInsights, ingestion);
        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeScopes = true;
            if (azureMonitor)
            {
                o.AddAzureMonitorLogExporter(Configure);
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
                if (azureMonitor)
                {
                    t.AddAzureMonitorTraceExporter(Configure);
                }

                if (otlp)
                {
                    t.AddOtlpExporter();
                }
            })
            .WithMetrics(m =>
            {
                m.AddMeter(PipelineTelemetry.MeterName);
                if (azureMonitor)
                {
                    m.AddAzureMonitorMetricExporter(Configure);
                }

                if (otlp)
                {
                    m.AddOtlpExporter();
                }
            });
        return builder;
    }

    /// <summary>
    /// The credential ingestion uses when <c>Authorization=AAD</c> asks for one: the process's own, which must be the
    /// identity the setting names (<c>ClientId=…</c> for a user-assigned one, none for the system-assigned one or the
    /// default chain). Null without a setting; anything else is refused rather than silently ignored, and so is a
    /// setting that names another identity than the one the process's clients use.
    /// </summary>
    public static TokenCredential? IngestionCredential(string? setting, TokenCredential credential, string? managedIdentityClientId)
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

        string named = parts.GetValueOrDefault("ClientId") ?? string.Empty;
        string own = managedIdentityClientId ?? string.Empty;
        if (!named.Equals(own, StringComparison.OrdinalIgnoreCase))
        {
            string Identity(string id) => id.Length == 0 ? "the system-assigned identity" : $"client id {id}";
            throw new InvalidOperationException($"APPLICATIONINSIGHTS_AUTHENTICATION_STRING names {Identity(named)}, but this process's clients use {Identity(own)}: a process has one identity.");
        }

        return credential;
    }
}
