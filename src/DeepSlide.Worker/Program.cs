using DeepSlide.Telemetry;
using DeepSlide.Worker.Extensions;
using Microsoft.Extensions.Hosting;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.AddApplicationServices();
builder.AddPipelineTelemetry("deepslide-worker");
await builder.Build().RunAsync();
