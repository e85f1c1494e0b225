using DeepSlide.Worker.Extensions;
using Microsoft.Extensions.Hosting;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.AddApplicationServices();
await builder.Build().RunAsync();
