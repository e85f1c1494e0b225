using Azure.Core;
using Azure.Identity;
using Azure.Messaging.ServiceBus;
using DeepSlide.Functions;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.ServiceBus;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Telemetry;
using Microsoft.Azure.Cosmos;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

FunctionsApplicationBuilder builder = FunctionsApplication.CreateBuilder(args);
IConfiguration config = builder.Configuration;
string? Setting(string name) => config[name.Replace("__", ":", StringComparison.Ordinal)] ?? config[name];

// One credential for every Azure client the app makes: each DefaultAzureCredential caches its own tokens.
builder.Services.AddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
builder.Services.AddSingleton(sp => StorageAccount.FromSettings(
    config[FunctionsSettings.PipelineStorage],
    Setting(FunctionsSettings.PipelineStorageBlobUri),
    Setting(FunctionsSettings.PipelineStorageQueueUri),
    credential: sp.GetRequiredService<TokenCredential>()));
builder.Services.AddSingleton(sp => sp.GetRequiredService<StorageAccount>().Stores());
builder.Services.AddSingleton<IWorkTransport>(sp =>
{
    var queue = new WorkQueueOptions();
    return Setting(FunctionsSettings.ServiceBusNamespace) is { Length: > 0 } ns
        ? new ServiceBusTransport(new ServiceBusClient(ns, sp.GetRequiredService<TokenCredential>()), queue, ownsClient: true)
        : StorageQueueTransport.Create(sp.GetRequiredService<StorageAccount>().Queues(), queue, sp.GetRequiredService<StorageAccount>().CreatesResources);
});
builder.Services.AddSingleton<ISlideRunStore>(sp =>
{
    string endpoint = Setting(FunctionsSettings.CosmosEndpoint) ?? throw new InvalidOperationException($"{FunctionsSettings.CosmosEndpoint} is not set.");
    var client = new CosmosClient(endpoint, sp.GetRequiredService<TokenCredential>(), CosmosSlideRunStore.ClientOptions());
    return new CosmosSlideRunStore(client.GetContainer(PipelineNames.Database, PipelineNames.RunsContainer));
});
builder.Services.AddSingleton(FunctionsSettings.RunDefaults(Setting));
builder.Services.AddSingleton(new ModelChoice(FunctionsSettings.DefaultModel(Setting)));

builder.AddPipelineTelemetry("deepslide-functions");

builder.Build().Run();
