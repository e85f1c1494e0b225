using DeepSlide.ServiceDefaults;
using DeepSlide.Worker.Extensions;
using Microsoft.AspNetCore.Builder;

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
builder.AddApplicationServices();
builder.ListenForHealthProbes();
WebApplication app = builder.Build();
app.MapDefaultEndpoints();
await app.RunAsync();
