using DeepSlide.Pipeline.Work;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Worker.Extensions;

public static class Extensions
{
    /// <summary>The worker's settings from the "Worker" section (Worker__* variables), its work, and the health endpoint.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        WorkerOptions options = builder.Configuration.GetSection(WorkerOptions.Section).Get<WorkerOptions>() ?? new WorkerOptions();
        builder.Services.AddWork(options);
        if (options.HealthPort > 0)
        {
            builder.Services.AddHostedService(sp => new HealthEndpointService(sp.GetRequiredService<WorkerHealth>(), options.HealthPort, sp.GetRequiredService<ILogger<HealthEndpointService>>()));
        }

        return builder;
    }
}
