using DeepSlide.Viewer;
using DeepSlide.Viewer.Host.Extensions;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddViewerServices();
WebApplication app = builder.Build();
app.UseViewer(app.Services.GetRequiredService<IViewerSource>(), app.Services.GetRequiredService<ViewerOptions>());
await app.RunAsync();
