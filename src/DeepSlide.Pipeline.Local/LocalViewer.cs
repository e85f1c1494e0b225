using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.Slides;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Viewer;
using Microsoft.Azure.Cosmos;

namespace DeepSlide.Pipeline.Local;

/// <summary>The viewer over the local stack's stores, on 127.0.0.1, reading slides as the workers do.</summary>
public sealed class LocalViewer : IAsyncDisposable
{
    private readonly CosmosClient _cosmos;
    private readonly PipelineViewerSource _source;

    private LocalViewer(CosmosClient cosmos, PipelineViewerSource source, ViewerServer server, string folder)
    {
        _cosmos = cosmos;
        _source = source;
        Server = server;
        Folder = folder;
    }

    public ViewerServer Server { get; }

    public Uri Address => Server.Address;

    /// <summary>Bytes of slides the viewer fetched from blob storage so far.</summary>
    public long SlideBytesFetched => _source.SlideBytesFetched;

    /// <summary>The viewer's sparse slides and scratch files.</summary>
    public string Folder { get; }

    /// <summary>Starts the viewer; <paramref name="port"/> 0 picks a free one. Its slide files go under <paramref name="folder"/>, bounded by <paramref name="maxSlideBytes"/>.</summary>
    public static async Task<LocalViewer> StartAsync(LocalPipelineOptions options, string folder, int port = 0, long maxSlideBytes = 2L << 30, CancellationToken cancellationToken = default)
    {
        PipelineStores stores = await new StorageAccount(options.StorageConnection).StoresAsync(cancellationToken);
        var cosmos = new CosmosClient(options.CosmosEndpoint, options.CosmosKey, CosmosSlideRunStore.ClientOptions(acceptLoopbackCertificate: true));
        try
        {
            CosmosSlideRunStore runs = await CosmosSlideRunStore.CreateAsync(cosmos, options.Database, options.RunsContainer, cancellationToken);
            var slides = new SparseSlides(stores.Slides, new SlideCache(stores.Slides, Path.Combine(folder, "whole"), maxSlideBytes / 2), Path.Combine(folder, "sparse"), maxSlideBytes / 2);
            var source = new PipelineViewerSource(runs, stores, slides, Path.Combine(folder, "scratch"));
            ViewerServer server = await ViewerServer.StartAsync(source, port, cancellationToken: cancellationToken);
            return new LocalViewer(cosmos, source, server, folder);
        }
        catch
        {
            cosmos.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _source.Dispose();
        _cosmos.Dispose();
    }
}
