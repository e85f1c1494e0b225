using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Identity;
using DeepSlide.Functions;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline.Work;
using DeepSlide.ServiceDefaults;
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
        var builder = Builder(env);
        builder.AddApplicationServices();
        using IHost host = builder.Build();

        // ValidateOnStart's checks, as the host runs them before it starts anything.
        host.Services.GetRequiredService<IStartupValidator>().Validate();
        WorkerOptions options = host.Services.GetRequiredService<WorkerOptions>();
        Assert.Equal(TimeSpan.FromMinutes(5), options.LockDuration);
        Assert.Equal(5, options.MaxDeliveryCount);
        Assert.StartsWith("https://", options.StorageBlobServiceUri);

        // A Container Apps replica over 1 vCPU has 8 GiB of ephemeral storage in all (learn.microsoft.com/azure/
        // container-apps/storage-mounts): the slide cache must leave room for the image, models and outputs.
        Assert.InRange(options.SlideCacheBytes, 1L << 30, 6L << 30);

        // The clients the service defaults make from those settings: identity-based storage, Service Bus, and one
        // credential, the user-assigned identity's, which telemetry ingestion uses too.
        PipelineConnections connections = host.Services.GetRequiredService<PipelineConnections>();
        Assert.Equal((options.StorageBlobServiceUri, options.StorageQueueServiceUri), (connections.StorageBlobServiceUri, connections.StorageQueueServiceUri));
        Assert.IsType<DeepSlide.Pipeline.ServiceBus.ServiceBusTransport>(host.Services.GetRequiredService<Pipeline.IWorkTransport>());
        Assert.Null(host.Services.GetRequiredService<Pipeline.Storage.StorageAccount>().ConnectionString);
        TokenCredential credential = host.Services.GetRequiredService<TokenCredential>();
        Assert.IsType<ManagedIdentityCredential>(credential);
        Assert.Same(credential, PipelineTelemetryExtensions.IngestionCredential(env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], credential, options.ManagedIdentityClientId));
        AssertIngestionNamesTheClientsIdentity("worker", "Worker__ManagedIdentityClientId");

        // The health endpoint listens where the platform probes it.
        JsonNode container = CompiledTemplate.OfType("Microsoft.App/containerApps", "worker").Single()["properties"]!["template"]!["containers"]![0]!;
        Assert.All(container["probes"]!.AsArray(), probe => Assert.Equal((ServiceDefaultsExtensions.HealthPath, options.HealthPort), ((string)probe!["httpGet"]!["path"]!, (int)probe["httpGet"]!["port"]!)));
        Assert.Equal(["Liveness", "Readiness"], container["probes"]!.AsArray().Select(p => (string)p!["type"]!).Order());
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void The_Functions_app_binds_and_validates_every_DeepSlide_setting_the_template_gives_it(string? parameterFile)
    {
        Dictionary<string, string?> settings = Settings(parameterFile, "Microsoft.Web/sites", "functions", site => site["properties"]!["siteConfig"]!["appSettings"]!.AsArray());
        Assert.All(FunctionsSettings.Required, name => Assert.False(string.IsNullOrEmpty(settings.GetValueOrDefault(name)), name));
        var builder = Builder(settings);
        builder.AddFunctionsServices();
        using IHost host = builder.Build();
        host.Services.GetRequiredService<IStartupValidator>().Validate();

        SlideRunRequest defaults = host.Services.GetRequiredService<SlideRunRequest>();
        Assert.Equal((64, TimeSpan.FromMinutes(10), 2), (defaults.TilesPerRange, defaults.Deadline, defaults.MaxRedispatches));
        Assert.Equal(settings[FunctionsSettings.ModelPrefix], host.Services.GetRequiredService<ModelChoice>().Prefix);

        PipelineConnections connections = host.Services.GetRequiredService<PipelineConnections>();
        Assert.Null(connections.StorageConnection);
        Assert.Equal(settings[FunctionsSettings.PipelineStorageBlobUri], connections.StorageBlobServiceUri);
        Assert.Equal(settings[FunctionsSettings.ServiceBusNamespace], connections.ServiceBusNamespace);
        Assert.Equal(settings[FunctionsSettings.CosmosEndpoint], connections.CosmosEndpoint);
        Assert.IsType<DeepSlide.Pipeline.ServiceBus.ServiceBusTransport>(host.Services.GetRequiredService<Pipeline.IWorkTransport>());
        TokenCredential credential = host.Services.GetRequiredService<TokenCredential>();
        Assert.Same(credential, PipelineTelemetryExtensions.IngestionCredential(settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], credential, null));
    }

    [Theory]
    [InlineData("Authorization=AAD", null, true)]
    [InlineData("ClientId=00000000-0000-0000-0000-000000000001;Authorization=AAD", "00000000-0000-0000-0000-000000000001", true)]
    [InlineData("", null, false)]
    public void The_ingestion_setting_uses_the_process_s_own_credential(string setting, string? clientId, bool used)
    {
        TokenCredential credential = Pipeline.Storage.Credentials.For(clientId);
        Assert.Equal(used ? credential : null, PipelineTelemetryExtensions.IngestionCredential(setting, credential, clientId));
    }

    [Theory]
    [InlineData("InstrumentationKey=abc", null)]
    [InlineData("Authorization=Key", null)]
    [InlineData("ClientId=00000000-0000-0000-0000-000000000001;Authorization=AAD", null)]
    [InlineData("Authorization=AAD", "00000000-0000-0000-0000-000000000001")]
    [InlineData("ClientId=00000000-0000-0000-0000-000000000002;Authorization=AAD", "00000000-0000-0000-0000-000000000001")]
    public void An_ingestion_setting_that_is_not_Entra_or_names_another_identity_is_refused(string setting, string? clientId) =>
        Assert.Contains("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", Assert.Throws<InvalidOperationException>(() => PipelineTelemetryExtensions.IngestionCredential(setting, Pipeline.Storage.Credentials.For(clientId), clientId)).Message);

    [Fact]
    public void A_setting_the_binder_cannot_read_fails_the_worker_and_the_Functions_app_at_start()
    {
        // The defect this test exists for: Service Bus takes lock durations as ISO 8601, the .NET binder does not.
        var worker = Builder(new() { ["Worker__StorageBlobServiceUri"] = "https://a.blob.core.windows.net", ["Worker__StorageQueueServiceUri"] = "https://a.queue.core.windows.net", ["Worker__LockDuration"] = "PT5M" });
        worker.AddApplicationServices();
        using IHost workerHost = worker.Build();
        Assert.Contains("LockDuration", Assert.ThrowsAny<InvalidOperationException>(() => workerHost.Services.GetRequiredService<IStartupValidator>().Validate()).Message);

        var functions = Builder(new() { [FunctionsSettings.PipelineStorage] = "UseDevelopmentStorage=true", [FunctionsSettings.CosmosEndpoint] = "https://c.documents.azure.com", [FunctionsSettings.RangeDeadline] = "PT10M" });
        functions.AddFunctionsServices();
        using IHost functionsHost = functions.Build();
        Assert.Contains("RangeDeadline", Assert.ThrowsAny<InvalidOperationException>(() => functionsHost.Services.GetRequiredService<IStartupValidator>().Validate()).Message);

        // Read, but out of range: no range of tiles would ever be dispatched.
        var zero = Builder(new() { [FunctionsSettings.PipelineStorage] = "UseDevelopmentStorage=true", [FunctionsSettings.CosmosEndpoint] = "https://c.documents.azure.com", [FunctionsSettings.TilesPerRange] = "0" });
        zero.AddFunctionsServices();
        using IHost zeroHost = zero.Build();
        Assert.Contains("TilesPerRange", Assert.Throws<OptionsValidationException>(() => zeroHost.Services.GetRequiredService<IStartupValidator>().Validate()).Message);
    }

    [Fact]
    public void A_host_without_its_connections_fails_at_start_naming_its_own_settings()
    {
        var worker = Builder(new() { ["Worker__StorageBlobServiceUri"] = "https://a.blob.core.windows.net" });
        worker.AddApplicationServices();
        using IHost workerHost = worker.Build();
        var ex = Assert.Throws<OptionsValidationException>(() => workerHost.Services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("Worker:StorageConnection", ex.Message);

        var functions = Builder(new() { [FunctionsSettings.PipelineStorageBlobUri] = "https://a.blob.core.windows.net", [FunctionsSettings.PipelineStorageQueueUri] = "https://a.queue.core.windows.net" });
        functions.AddFunctionsServices();
        using IHost functionsHost = functions.Build();
        ex = Assert.Throws<OptionsValidationException>(() => functionsHost.Services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(FunctionsSettings.CosmosEndpoint, ex.Message);
        Assert.DoesNotContain(FunctionsSettings.PipelineStorage + ",", ex.Message);
    }

    [Fact]
    public void A_host_whose_ingestion_setting_names_another_identity_fails_as_it_is_composed()
    {
        var builder = Builder(new()
        {
            ["Worker__StorageConnection"] = "UseDevelopmentStorage=true",
            ["Worker__ManagedIdentityClientId"] = "00000000-0000-0000-0000-000000000001",
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "InstrumentationKey=00000000-0000-0000-0000-000000000000",
            ["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] = "Authorization=AAD",
        });
        Assert.Contains("system-assigned", Assert.Throws<InvalidOperationException>(() => builder.AddApplicationServices()).Message);
    }

    [Theory]
    [MemberData(nameof(ParameterFiles))]
    public void The_viewer_binds_and_validates_the_environment_the_template_gives_it(string? parameterFile)
    {
        Dictionary<string, string?> env = Settings(parameterFile, "Microsoft.App/containerApps", "viewer", app => app["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray());
        var builder = Builder(env);
        DeepSlide.Viewer.Host.Extensions.Extensions.AddViewerServices(builder);
        using IHost app = builder.Build();

        // ValidateOnStart's check, as the host runs it before serving.
        var options = app.Services.GetRequiredService<IOptions<DeepSlide.Viewer.Host.Extensions.ViewerHostOptions>>().Value;
        app.Services.GetRequiredService<IStartupValidator>().Validate();
        Assert.StartsWith("https://", options.StorageBlobServiceUri);
        Assert.StartsWith("https://", options.CosmosEndpoint);
        Assert.Equal([Pipeline.CallerPrincipal.Read, Pipeline.CallerPrincipal.ReadWrite], options.RequiredRoles);
        Assert.InRange(options.SlideCacheBytes, 256L << 20, 3L << 30);
        TokenCredential credential = app.Services.GetRequiredService<TokenCredential>();
        Assert.Same(credential, PipelineTelemetryExtensions.IngestionCredential(env["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], credential, options.ManagedIdentityClientId));
        AssertIngestionNamesTheClientsIdentity("viewer", "Viewer__ManagedIdentityClientId");

        // The platform probes the path the viewer answers without a role, on the port it listens on.
        JsonNode container = CompiledTemplate.OfType("Microsoft.App/containerApps", "viewer").Single()["properties"]!["template"]!["containers"]![0]!;
        Assert.All(container["probes"]!.AsArray(), probe => Assert.Equal((DeepSlide.Viewer.ViewerEndpoints.HealthPath, 8080), ((string)probe!["httpGet"]!["path"]!, (int)probe["httpGet"]!["port"]!)));
    }

    [Fact]
    public void A_viewer_without_its_endpoints_fails_at_start()
    {
        var builder = Builder(new() { ["Viewer__StorageBlobServiceUri"] = "not a url" });
        DeepSlide.Viewer.Host.Extensions.Extensions.AddViewerServices(builder);
        using IHost app = builder.Build();
        var ex = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("CosmosEndpoint", ex.Message);
        Assert.Contains("StorageBlobServiceUri", ex.Message);
    }

    /// <summary>
    /// A host builder over these settings, named as Azure sets them: the environment provider reads "__" as ":".
    /// Application Insights' connection string is only known after deployment; the exporters parse it as the host is
    /// built, so its placeholder takes the connection string's shape.
    /// </summary>
    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings.Select(kv => new KeyValuePair<string, string?>(
            FunctionsSettings.Key(kv.Key),
            kv.Key == "APPLICATIONINSIGHTS_CONNECTION_STRING" && kv.Value == ResolvedAtDeployment ? $"InstrumentationKey={Guid.Empty};IngestionEndpoint={ResolvedAtDeployment}" : kv.Value)));
        return builder;
    }

    private const string ResolvedAtDeployment = "https://resolved-at-deployment.example.net/";

    /// <summary>An identity's client id, known only after deployment: the placeholder <see cref="TemplateScope"/> gives one inside a format.</summary>
    private const string UnknownIdentity = "00000000-0000-0000-0000-000000000000";

    private static bool IsIdentity(string setting) => setting.EndsWith("ManagedIdentityClientId", StringComparison.Ordinal) || setting == "AZURE_CLIENT_ID";

    /// <summary>
    /// Both placeholders of an unknown identity are the same, so a binding test alone cannot tell two identities
    /// apart: this checks that the ingestion setting is written from the very parameter the clients' identity is.
    /// </summary>
    private static void AssertIngestionNamesTheClientsIdentity(string module, string identitySetting)
    {
        JsonArray env = CompiledTemplate.OfType("Microsoft.App/containerApps", module).Single()["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray();
        string Raw(string name) => (string)env.Single(e => (string)e!["name"]! == name)!["value"]!;
        string identity = Raw(identitySetting).Trim('[', ']');
        Assert.StartsWith("parameters(", identity);
        Assert.Equal($"[format('ClientId={{0}};Authorization=AAD', {identity})]", Raw("APPLICATIONINSIGHTS_AUTHENTICATION_STRING"));
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
        return array(resource).ToDictionary(e => (string)e!["name"]!, string? (e) => scope.Resolve(e!["value"]) ?? (IsIdentity((string)e["name"]!) ? UnknownIdentity : ResolvedAtDeployment));
    }
}
