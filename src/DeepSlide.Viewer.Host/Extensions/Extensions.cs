using Azure.Core;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.Slides;
using DeepSlide.Pipeline.Storage;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Options;

namespace DeepSlide.Viewer.Host.Extensions;

public static class Extensions
{
    /// <summary>
    /// The viewer's settings (bound and validated at start), one credential, the stores it reads (slides and results,
    /// the run documents) and the viewer source over them, reading slides as the workers do.
    /// </summary>
    public static IHostApplicationBuilder AddViewerServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ViewerHostOptions>().BindConfiguration(ViewerHostOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<ViewerHostOptions>>().Value);
        builder.Services.AddSingleton<TokenCredential>(sp => Credentials.For(sp.GetRequiredService<ViewerHostOptions>().ManagedIdentityClientId));
        builder.Services.AddSingleton(sp => new StorageAccount(null, new Uri(sp.GetRequiredService<ViewerHostOptions>().StorageBlobServiceUri), credential: sp.GetRequiredService<TokenCredential>()).Stores());
        builder.Services.AddSingleton(sp =>
        {
            ViewerHostOptions options = sp.GetRequiredService<ViewerHostOptions>();
            var client = new CosmosClient(options.CosmosEndpoint, sp.GetRequiredService<TokenCredential>(), CosmosSlideRunStore.ClientOptions());
            return new CosmosSlideRunStore(client.GetContainer(PipelineNames.Database, PipelineNames.RunsContainer));
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
