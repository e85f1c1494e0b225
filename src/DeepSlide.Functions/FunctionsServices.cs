using DeepSlide.Orchestration;
using DeepSlide.Pipeline;
using DeepSlide.ServiceDefaults;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DeepSlide.Functions;

public static class FunctionsServices
{
    /// <summary>
    /// The service defaults (the app's system-assigned identity, telemetry), the pipeline's clients from the app's
    /// identity-based connections, and the run settings, all validated as the app starts.
    /// </summary>
    public static IHostApplicationBuilder AddFunctionsServices(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDefaults("deepslide-functions");
        builder.Services.AddPipelineClients().Configure<IConfiguration>((c, config) =>
        {
            c.StorageConnection = config[FunctionsSettings.PipelineStorage];
            c.StorageBlobServiceUri = config[FunctionsSettings.Key(FunctionsSettings.PipelineStorageBlobUri)];
            c.StorageQueueServiceUri = config[FunctionsSettings.Key(FunctionsSettings.PipelineStorageQueueUri)];
            c.ServiceBusNamespace = config[FunctionsSettings.Key(FunctionsSettings.ServiceBusNamespace)];
            c.CosmosEndpoint = config[FunctionsSettings.Key(FunctionsSettings.CosmosEndpoint)];
            c.RunsRequired = true;
            c.StorageSettings = $"{FunctionsSettings.PipelineStorage}, or {FunctionsSettings.PipelineStorageBlobUri} and {FunctionsSettings.PipelineStorageQueueUri},";
            c.CosmosSetting = FunctionsSettings.CosmosEndpoint;
        });
        builder.Services.AddOptions<RunSettings>().BindConfiguration(RunSettings.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<RunSettings>>().Value.RunDefaults());
        builder.Services.AddSingleton(sp => new ModelChoice(sp.GetRequiredService<IOptions<RunSettings>>().Value.ModelPrefix));
        return builder;
    }
}
