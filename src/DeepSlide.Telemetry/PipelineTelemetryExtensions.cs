using Azure.Monitor.OpenTelemetry.Exporter;
using DeepSlide.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace DeepSlide.Telemetry;

public static class PipelineTelemetryExtensions
{
    /// <summary>
    /// OpenTelemetry traces and logs for the pipeline's sources, exported to Application Insights when
    /// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set and over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is;
    /// with neither, nothing is exported.
    /// </summary>
    public static IHostApplicationBuilder AddPipelineTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        string? appInsights = builder.Configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"];
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
                o.AddAzureMonitorLogExporter(e => e.ConnectionString = appInsights);
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
                    t.AddAzureMonitorTraceExporter(e => e.ConnectionString = appInsights);
                }

                if (otlp)
                {
                    t.AddOtlpExporter();
                }
            });
        return builder;
    }
}
