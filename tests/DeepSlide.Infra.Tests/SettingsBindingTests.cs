using System.Text.Json.Nodes;
using DeepSlide.Functions;
using DeepSlide.Pipeline.Work;
using DeepSlide.Worker.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DeepSlide.Infra.Tests;

/// <summary>
/// The compiled template is the truth about each host's settings: the worker's <c>Worker__*</c> environment and the
/// Functions app settings, with every parameter resolved as Azure would (a parameter file's value, else the
/// default), go through the hosts' real configuration binding and validation. A value the .NET binder cannot read
/// (an ISO 8601 duration for a TimeSpan, for one) fails here instead of crash-looping a replica in Azure.
/// </summary>
public sealed class SettingsBindingTests
{
    public static TheoryData<string?> ParameterFiles => new() { null, "main.dev.bicepparam", "main.prod.bicepparam" };

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void The_worker_binds_and_validates_the_environment_the_template_gives_it(string? parameterFile)
    {
        Dictionary<string, string?> env = WorkerEnvironment(parameterFile);

        // What the environment-variable provider does with a name: "__" separates sections.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(env.Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value)));
        builder.AddApplicationServices();
        using IHost host = builder.Build();
        WorkerOptions options = host.Services.GetRequiredService<WorkerOptions>();

        Assert.Equal(TimeSpan.FromMinutes(5), options.LockDuration);
        Assert.Equal(5, options.MaxDeliveryCount);
        Assert.StartsWith("https://", options.StorageBlobServiceUri);

        // A Container Apps replica over 1 vCPU has 8 GiB of ephemeral storage in all (learn.microsoft.com/azure/
        // container-apps/storage-mounts): the slide cache must leave room for the image, models and outputs.
        Assert.InRange(options.SlideCacheBytes, 1L << 30, 6L << 30);

        // The health endpoint listens where the platform probes it.
        JsonNode container = CompiledTemplate.OfType("Microsoft.App/containerApps", "worker").Single()["properties"]!["template"]!["containers"]![0]!;
        Assert.All(container["probes"]!.AsArray(), probe => Assert.Equal(options.HealthPort, (int)probe!["httpGet"]!["port"]!));
        Assert.Equal(["Liveness", "Readiness"], container["probes"]!.AsArray().Select(p => (string)p!["type"]!).Order());

        // Telemetry ingestion by the worker's own identity: the setting must be one the telemetry setup reads.
        Assert.NotNull(DeepSlide.Telemetry.PipelineTelemetryExtensions.IngestionCredential(env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]));
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void The_Functions_app_reads_every_DeepSlide_setting_the_template_gives_it(string? parameterFile)
    {
        Dictionary<string, string?> settings = Settings(parameterFile, "Microsoft.Web/sites", "functions", site => site["properties"]!["siteConfig"]!["appSettings"]!.AsArray());
        var defaults = FunctionsSettings.RunDefaults(name => settings.GetValueOrDefault(name));
        Assert.Equal(64, defaults.TilesPerRange);
        Assert.Equal(TimeSpan.FromMinutes(10), defaults.Deadline);
        Assert.Equal(2, defaults.MaxRedispatches);
        Assert.All(FunctionsSettings.Required, name => Assert.False(string.IsNullOrEmpty(settings.GetValueOrDefault(name)), name));
    }

    [Theory]
    [InlineData("Authorization=AAD", true)]
    [InlineData("ClientId=00000000-0000-0000-0000-000000000001;Authorization=AAD", true)]
    [InlineData("", false)]
    public void The_ingestion_setting_names_a_managed_identity(string setting, bool credential) =>
        Assert.Equal(credential, DeepSlide.Telemetry.PipelineTelemetryExtensions.IngestionCredential(setting) is not null);

    [Theory]
    [InlineData("InstrumentationKey=abc")]
    [InlineData("Authorization=Key")]
    public void An_ingestion_setting_that_is_not_Entra_is_refused(string setting) =>
        Assert.Contains("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", Assert.Throws<InvalidOperationException>(() => DeepSlide.Telemetry.PipelineTelemetryExtensions.IngestionCredential(setting)).Message);

    [Fact]
    public void A_setting_the_binder_cannot_read_fails_the_worker_at_start()
    {
        // The defect this test exists for: Service Bus takes lock durations as ISO 8601, the .NET binder does not.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection([new("Worker:StorageBlobServiceUri", "https://a.blob.core.windows.net"), new("Worker:LockDuration", "PT5M")]);
        var ex = Assert.ThrowsAny<InvalidOperationException>(() => builder.AddApplicationServices());
        Assert.Contains("PT5M", ex.Message);

        Assert.Throws<InvalidOperationException>(() => FunctionsSettings.RunDefaults(name => name == FunctionsSettings.RangeDeadline ? "PT10M" : null));
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void The_viewer_binds_and_validates_the_environment_the_template_gives_it(string? parameterFile)
    {
        Dictionary<string, string?> env = Settings(parameterFile, "Microsoft.App/containerApps", "viewer", app => app["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray());
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(env.Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value)));
        DeepSlide.Viewer.Host.Extensions.Extensions.AddViewerServices(builder);
        using IHost app = builder.Build();

        // ValidateOnStart's check, as the host runs it before serving.
        var options = app.Services.GetRequiredService<IOptions<DeepSlide.Viewer.Host.Extensions.ViewerHostOptions>>().Value;
        app.Services.GetRequiredService<IStartupValidator>().Validate();
        Assert.StartsWith("https://", options.StorageBlobServiceUri);
        Assert.StartsWith("https://", options.CosmosEndpoint);
        Assert.Equal([Pipeline.CallerPrincipal.Read, Pipeline.CallerPrincipal.ReadWrite], options.RequiredRoles);
        Assert.InRange(options.SlideCacheBytes, 256L << 20, 3L << 30);
        Assert.NotNull(DeepSlide.Telemetry.PipelineTelemetryExtensions.IngestionCredential(env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]));

        // The platform probes the path the viewer answers without a role, on the port it listens on.
        JsonNode container = CompiledTemplate.OfType("Microsoft.App/containerApps", "viewer").Single()["properties"]!["template"]!["containers"]![0]!;
        Assert.All(container["probes"]!.AsArray(), probe => Assert.Equal((DeepSlide.Viewer.ViewerEndpoints.HealthPath, 8080), ((string)probe!["httpGet"]!["path"]!, (int)probe["httpGet"]!["port"]!)));
    }

    [Fact]
    public void A_viewer_without_its_endpoints_fails_at_start()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection([new("Viewer:StorageBlobServiceUri", "not a url")]);
        DeepSlide.Viewer.Host.Extensions.Extensions.AddViewerServices(builder);
        using IHost app = builder.Build();
        var ex = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("CosmosEndpoint", ex.Message);
        Assert.Contains("StorageBlobServiceUri", ex.Message);
    }

    /// <summary>The worker container's environment as the template sets it, parameters resolved.</summary>
    internal static Dictionary<string, string?> WorkerEnvironment(string? parameterFile = null) =>
        Settings(parameterFile, "Microsoft.App/containerApps", "worker", app => app["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray());

    /// <summary>
    /// The name/value pairs of one resource's settings array, each value resolved through the module's and the main
    /// template's parameters. Values only known after deployment (endpoints from reference()) become a URL placeholder.
    /// </summary>
    private static Dictionary<string, string?> Settings(string? parameterFile, string type, string module, Func<JsonNode, JsonArray> array)
    {
        TemplateScope scope = TemplateScope.For(parameterFile).Module(module);
        JsonNode resource = CompiledTemplate.OfType(type, module).Single();
        return array(resource).ToDictionary(e => (string)e!["name"]!, string? (e) => scope.Resolve(e!["value"]) ?? "https://resolved-at-deployment.example.net/");
    }
}
