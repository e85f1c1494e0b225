using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Viewer;

/// <summary>The viewer in a process of its own choosing (the CLI, the local stack, tests): Kestrel on loopback only.</summary>
public sealed class ViewerServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ViewerServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>The page's address, ending in a slash.</summary>
    public Uri Address { get; }

    /// <summary>Starts serving <paramref name="source"/> on 127.0.0.1; port 0 picks a free one.</summary>
    public static async Task<ViewerServer> StartAsync(IViewerSource source, int port = 0, ViewerOptions? options = null, CancellationToken cancellationToken = default)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(ViewerServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        builder.Services.AddProblemDetails();
        WebApplication app = builder.Build();
        app.UseViewer(source, options);
        await app.StartAsync(cancellationToken);
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ViewerServer(app, new Uri(bound.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
