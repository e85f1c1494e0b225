using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.Slides;
using DeepSlide.ServiceDefaults;
using Microsoft.Extensions.Options;

namespace DeepSlide.Viewer.Host.Extensions;

public static class Extensions
{
    /// <summary>
    /// The viewer's settings (bound and validated at start), the service defaults (the identity
    /// <c>Viewer__ManagedIdentityClientId</c> names, telemetry, health checks), the pipeline's clients it reads
    /// (slides and results, the run documents) and the viewer source over them, reading slides as the workers do.
    /// </summary>
    public static IHostApplicationBuilder AddViewerServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ViewerHostOptions>().BindConfiguration(ViewerHostOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<ViewerHostOptions>>().Value);
        builder.AddServiceDefaults("deepslide-viewer", builder.Configuration.GetSection(ViewerHostOptions.Section)[nameof(ViewerHostOptions.ManagedIdentityClientId)]);
        builder.Services.AddPipelineClients().Configure<ViewerHostOptions>((c, o) =>
        {
            c.StorageBlobServiceUri = o.StorageBlobServiceUri;
            c.CosmosEndpoint = o.CosmosEndpoint;
            c.QueuesRequired = false;
            c.RunsRequired = true;
            c.StorageSettings = $"{ViewerHostOptions.Section}:{nameof(o.StorageBlobServiceUri)}";
            c.CosmosSetting = $"{ViewerHostOptions.Section}:{nameof(o.CosmosEndpoint)}";
        });
        builder.Services.AddSingleton<IViewerSource>(sp =>
        {
            ViewerHostOptions options = sp.GetRequiredService<ViewerHostOptions>();
            PipelineStores stores = sp.GetRequiredService<PipelineStores>();
            var slides = new SparseSlides(
                stores.Slides,
                new SlideCache(stores.Slides, Path.Combine(options.CacheFolder, "whole"), options.SlideCacheBytes / 2),
                Path.Combine(options.CacheFolder, "sparse"),
                options.SlideCacheBytes / 2);
            return new PipelineViewerSource(sp.GetRequiredService<CosmosSlideRunStore>(), stores, slides, Path.Combine(options.CacheFolder, "scratch"));
        });
        builder.Services.AddSingleton(sp => new ViewerOptions { RequiredRoles = sp.GetRequiredService<ViewerHostOptions>().RequiredRoles });
        return builder;
    }
}
