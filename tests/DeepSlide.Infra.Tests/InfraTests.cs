using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepSlide.Functions;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Cosmos;
using DeepSlide.Pipeline.Work;

namespace DeepSlide.Infra.Tests;

/// <summary>
/// infra/ against the code: the template compiles and lints clean with the packaged bicep CLI, its security defaults
/// hold, and every name, setting and role the code relies on is declared.
/// </summary>
public sealed partial class InfraTests
{
    [Theory]
    [InlineData("build", "main.bicep")]
    [InlineData("lint", "main.bicep")]
    [InlineData("build-params", "main.dev.bicepparam")]
    [InlineData("build-params", "main.prod.bicepparam")]
    public void The_template_and_its_parameter_files_compile_and_lint_with_no_warning(string command, string file)
    {
        if (command == "lint")
        {
            (int exit, string stdout, string stderr) = CompiledTemplate.Bicep(command, CompiledTemplate.InfraFile(file));
            Assert.True(exit == 0, stdout + stderr);
            Assert.Equal(string.Empty, (stdout + stderr).Trim());
        }
        else
        {
            Assert.NotEmpty(CompiledTemplate.Build(command, file));
        }
    }

    [Fact]
    public void No_module_comes_from_a_registry()
    {
        foreach (string file in Directory.GetFiles(CompiledTemplate.InfraFile(string.Empty), "*.bicep", SearchOption.AllDirectories))
        {
            Assert.DoesNotMatch(RegistryReference(), File.ReadAllText(file));
        }
    }

    [Fact]
    public void Storage_Service_Bus_Cosmos_and_the_registry_allow_no_keys_or_anonymous_access_and_need_TLS_1_2()
    {
        // Both accounts (the Functions host's and the pipeline's data) come from the one storage module.
        List<JsonObject> accounts = CompiledTemplate.OfType("Microsoft.Storage/storageAccounts").ToList();
        Assert.Equal(2, accounts.Count);
        Assert.All(accounts, account =>
        {
            JsonNode storage = account["properties"]!;
            Assert.Equal((false, false, "TLS1_2", true), ((bool)storage["allowSharedKeyAccess"]!, (bool)storage["allowBlobPublicAccess"]!, (string)storage["minimumTlsVersion"]!, (bool)storage["supportsHttpsTrafficOnly"]!));
        });
        Assert.All(CompiledTemplate.OfType("Microsoft.Storage/storageAccounts/blobServices/containers"), c => Assert.Equal("None", (string)c["properties"]!["publicAccess"]!));

        JsonNode bus = CompiledTemplate.OfType("Microsoft.ServiceBus/namespaces").Single()["properties"]!;
        Assert.Equal((true, "1.2"), ((bool)bus["disableLocalAuth"]!, (string)bus["minimumTlsVersion"]!));
        JsonNode cosmos = CompiledTemplate.OfType("Microsoft.DocumentDB/databaseAccounts").Single()["properties"]!;
        Assert.Equal((true, "Tls12"), ((bool)cosmos["disableLocalAuth"]!, (string)cosmos["minimalTlsVersion"]!));
        Assert.False((bool)CompiledTemplate.OfType("Microsoft.ContainerRegistry/registries").Single()["properties"]!["adminUserEnabled"]!);
        JsonNode site = CompiledTemplate.OfType("Microsoft.Web/sites").Single();
        Assert.Equal(("SystemAssigned", true, "1.2", "Disabled"), ((string)site["identity"]!["type"]!, (bool)site["properties"]!["httpsOnly"]!, (string)site["properties"]!["siteConfig"]!["minTlsVersion"]!, (string)site["properties"]!["siteConfig"]!["ftpsState"]!));
        Assert.Equal("FlexConsumption", (string)CompiledTemplate.OfType("Microsoft.Web/serverfarms").Single()["sku"]!["tier"]!);
        Assert.Equal("dotnet-isolated", (string)site["properties"]!["functionAppConfig"]!["runtime"]!["name"]!);
    }

    [Fact]
    public void No_secret_is_set_or_output_anywhere()
    {
        string template = CompiledTemplate.Template.ToJsonString();
        Assert.DoesNotContain("AccountKey=", template, StringComparison.Ordinal);
        Assert.DoesNotContain("SharedAccessKey", template, StringComparison.Ordinal);
        Assert.DoesNotContain("listConnectionStrings", template, StringComparison.Ordinal);
        foreach ((string module, JsonObject resource) in CompiledTemplate.Resources())
        {
            if (resource["properties"] is JsonObject properties && properties["template"]?["outputs"] is JsonObject outputs)
            {
                Assert.All(outputs, o => Assert.DoesNotContain("list", o.Value!.ToJsonString(), StringComparison.OrdinalIgnoreCase));
            }
        }

        Assert.All(CompiledTemplate.Template["outputs"]!.AsObject(), o =>
        {
            Assert.DoesNotContain("key", o.Key, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("list", o.Value!.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        });

        // The one key the template reads is the blob extension's, handed to Event Grid's webhook and never output.
        Assert.Equal(1, Regex.Count(template, "listKeys"));
        Assert.Contains("blobs_extension", CompiledTemplate.Module("slide-events").ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Containers_queues_database_partition_key_and_task_hub_are_the_ones_the_code_uses()
    {
        Assert.Equal(PipelineNames.SlidesContainer, (string)CompiledTemplate.Variable("slidesContainer")!);
        Assert.Equal(PipelineNames.ResultsContainer, (string)CompiledTemplate.Variable("resultsContainer")!);
        Assert.Equal(PipelineNames.ModelsContainer, (string)CompiledTemplate.Variable("modelsContainer")!);
        Assert.Equal(PipelineNames.RangeQueue, (string)CompiledTemplate.Variable("rangeQueue")!);
        Assert.Equal(PipelineNames.CompletionQueue, (string)CompiledTemplate.Variable("completionQueue")!);
        Assert.Equal(PipelineNames.Database, (string)CompiledTemplate.Variable("databaseName")!);
        Assert.Equal(PipelineNames.RunsContainer, (string)CompiledTemplate.Variable("runsContainer")!);
        Assert.Equal("SlideUploaded", (string)CompiledTemplate.Variable("slideTriggerFunction")!);
        Assert.Equal(CosmosSlideRunStore.PartitionKeyPath, (string)CompiledTemplate.Module("cosmos")["properties"]!["parameters"]!["partitionKeyPath"]!["value"]!);

        JsonNode host = JsonNode.Parse(File.ReadAllText(Path.Combine(CompiledTemplate.RepositoryRoot, "host.json")))!;
        Assert.Equal(PipelineNames.TaskHub, (string)host["extensions"]!["durableTask"]!["hubName"]!);

        // The Functions triggers listen where the deployment delivers.
        JsonArray functions = JsonNode.Parse(File.ReadAllText(FunctionsMetadataPath()))!.AsArray();
        JsonNode blobTrigger = functions.Single(f => (string?)f!["name"] == "SlideUploaded")!["bindings"]!.AsArray().Single(b => (string?)b!["type"] == "blobTrigger")!;
        Assert.Equal(($"{PipelineNames.SlidesContainer}/{{*name}}", "EventGrid"), ((string)blobTrigger["path"]!, (string)blobTrigger["source"]!));
        JsonNode queueTrigger = functions.Single(f => (string?)f!["name"] == "WorkCompleted")!["bindings"]!.AsArray().Single(b => (string?)b!["type"] == "queueTrigger")!;
        Assert.Equal(PipelineNames.CompletionQueue, (string)queueTrigger["queueName"]!);
    }

    [Fact]
    public void Every_app_setting_the_Functions_app_reads_is_set_and_every_connection_is_identity_based()
    {
        HashSet<string> settings = CompiledTemplate.OfType("Microsoft.Web/sites").Single()["properties"]!["siteConfig"]!["appSettings"]!.AsArray()
            .Select(s => (string)s!["name"]!).ToHashSet();
        Assert.Superset(FunctionsSettings.Required.ToHashSet(), settings);
        Assert.Superset(new HashSet<string> { FunctionsSettings.TilesPerRange, FunctionsSettings.RangeDeadline, FunctionsSettings.MaxRedispatches, "APPLICATIONINSIGHTS_CONNECTION_STRING" }, settings);

        // Each trigger connection (and the host's own storage) by service URIs and the app's identity.
        JsonArray functions = JsonNode.Parse(File.ReadAllText(FunctionsMetadataPath()))!.AsArray();
        var connections = functions.SelectMany(f => f!["bindings"]!.AsArray()).Select(b => (string?)b!["connection"]).OfType<string>().Append("AzureWebJobsStorage").ToHashSet();
        Assert.Contains(FunctionsSettings.PipelineStorage, connections);
        foreach (string connection in connections)
        {
            Assert.Contains($"{connection}__blobServiceUri", settings);
            Assert.Contains($"{connection}__queueServiceUri", settings);
            Assert.Contains($"{connection}__credential", settings);
            Assert.DoesNotContain(connection, settings);
        }

        Assert.Contains("AzureWebJobsStorage__tableServiceUri", settings);
        Assert.DoesNotContain(settings, s => s.Contains("ConnectionString", StringComparison.OrdinalIgnoreCase) && s != "APPLICATIONINSIGHTS_CONNECTION_STRING");
    }

    [Fact]
    public void Every_worker_setting_is_one_the_worker_reads_and_the_ones_it_needs_in_Azure_are_set()
    {
        JsonNode app = CompiledTemplate.OfType("Microsoft.App/containerApps", "worker").Single();
        HashSet<string> env = app["properties"]!["template"]!["containers"]![0]!["env"]!.AsArray().Select(e => (string)e!["name"]!).ToHashSet();
        var options = typeof(WorkerOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => p.Name).ToHashSet();
        foreach (string name in env.Where(n => n.StartsWith("Worker__", StringComparison.Ordinal)))
        {
            Assert.Contains(name["Worker__".Length..], options);
        }

        Assert.Superset(
            new HashSet<string> { "Worker__StorageBlobServiceUri", "Worker__StorageQueueServiceUri", "Worker__ServiceBusNamespace", "Worker__ManagedIdentityClientId", "Worker__LockDuration", "Worker__MaxDeliveryCount", "APPLICATIONINSIGHTS_CONNECTION_STRING" },
            env);
        Assert.DoesNotContain("Worker__StorageConnection", env);
        Assert.DoesNotContain("Worker__ServiceBusConnection", env);
    }

    [Fact]
    public void The_range_queue_and_the_worker_scaler_agree_with_the_code_and_the_worker_scales_to_zero()
    {
        JsonNode queue = CompiledTemplate.OfType("Microsoft.ServiceBus/namespaces/queues").Single()["properties"]!;
        Assert.True((bool)queue["requiresDuplicateDetection"]!);
        Assert.True((bool)queue["deadLetteringOnMessageExpiration"]!);
        JsonObject main = CompiledTemplate.Template;
        var defaults = new WorkerOptions();
        Assert.Equal(defaults.MaxDeliveryCount, (int)main["parameters"]!["maxDeliveryCount"]!["defaultValue"]!);
        Assert.Equal(defaults.LockDuration, TimeSpan.FromMinutes((int)main["parameters"]!["rangeLockMinutes"]!["defaultValue"]!));
        Assert.Equal("[format('PT{0}M', parameters('rangeLockMinutes'))]", (string)CompiledTemplate.Module("service-bus")["properties"]!["parameters"]!["lockDuration"]!["value"]!);

        JsonNode app = CompiledTemplate.OfType("Microsoft.App/containerApps", "worker").Single();
        JsonNode scale = app["properties"]!["template"]!["scale"]!;
        Assert.Equal(0, (int)scale["minReplicas"]!);
        JsonNode rule = scale["rules"]!.AsArray().Single()!["custom"]!;
        Assert.Equal("azure-servicebus", (string)rule["type"]!);
        Assert.NotNull(rule["identity"]);
        Assert.Equal("[parameters('rangeQueue')]", (string)rule["metadata"]!["queueName"]!);
        Assert.Equal("[variables('rangeQueue')]", (string)CompiledTemplate.Module("worker")["properties"]!["parameters"]!["rangeQueue"]!["value"]!);
        Assert.Equal("gpu", (string)app["properties"]!["workloadProfileName"]!);
    }

    [Fact]
    public void The_viewer_is_a_CPU_app_that_scales_to_zero_behind_Entra_authentication_for_the_API_registration_only()
    {
        JsonNode app = CompiledTemplate.OfType("Microsoft.App/containerApps", "viewer").Single()["properties"]!;
        Assert.Equal("Consumption", (string)app["workloadProfileName"]!);
        Assert.Equal(0, (int)app["template"]!["scale"]!["minReplicas"]!);
        Assert.Equal(8080, (int)app["configuration"]!["ingress"]!["targetPort"]!);
        Assert.False((bool)app["configuration"]!["ingress"]!["allowInsecure"]!);
        Assert.Equal("[parameters('platformIdentityId')]", (string)app["configuration"]!["registries"]![0]!["identity"]!);
        Assert.Equal("[parameters('platformIdentityId')]", (string)app["configuration"]!["identitySettings"]!.AsArray().Single(i => (string)i!["lifecycle"]! == "None")!["identity"]!);
        Assert.Contains("ASPNETCORE_HTTP_PORTS=8080", File.ReadAllText(Path.Combine(CompiledTemplate.RepositoryRoot, "src", "DeepSlide.Viewer.Host", "Dockerfile")), StringComparison.Ordinal);

        // No secret value in the template: the sign-in secret is a Key Vault reference read by the viewer's identity.
        string secrets = app["configuration"]!["secrets"]!.ToJsonString();
        Assert.DoesNotContain("\"value\"", secrets, StringComparison.Ordinal);
        Assert.Contains("keyVaultUrl", secrets, StringComparison.Ordinal);

        JsonNode auth = CompiledTemplate.OfType("Microsoft.App/containerApps/authConfigs", "viewer").Single();
        Assert.EndsWith("'current')]", (string)auth["name"]!, StringComparison.Ordinal);
        JsonNode properties = auth["properties"]!;
        Assert.True((bool)properties["platform"]!["enabled"]!);
        Assert.Contains("Return401", (string)properties["globalValidation"]!["unauthenticatedClientAction"]!, StringComparison.Ordinal);
        JsonNode aad = properties["identityProviders"]!["azureActiveDirectory"]!;
        Assert.Equal(["[format('api://{0}', parameters('apiClientId'))]"], aad["validation"]!["allowedAudiences"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(["[parameters('apiClientId')]"], aad["validation"]!["defaultAuthorizationPolicy"]!["allowedApplications"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("[parameters('apiClientId')]", (string)CompiledTemplate.Module("viewer")["properties"]!["parameters"]!["apiClientId"]!["value"]!);
    }

    [Fact]
    public void The_API_accepts_tokens_only_from_its_own_registration_the_CLI_and_the_listed_clients()
    {
        JsonNode policy = CompiledTemplate.OfType("Microsoft.Web/sites/config", "functions").Single()["properties"]!["identityProviders"]!["azureActiveDirectory"]!["validation"]!["defaultAuthorizationPolicy"]!;
        string allowed = (string)policy["allowedApplications"]!;
        Assert.Contains("parameters('apiClientId')", allowed, StringComparison.Ordinal);
        Assert.Contains("variables('azureCliClientId')", allowed, StringComparison.Ordinal);
        Assert.Contains("parameters('apiClientApplications')", allowed, StringComparison.Ordinal);
        Assert.Equal("04b07795-8ddb-461a-bbee-02f9e1bf7b46", (string)CompiledTemplate.Module("functions")["properties"]!["template"]!["variables"]!["azureCliClientId"]!);
        Assert.Contains("az ad sp update --id $API --set appRoleAssignmentRequired=true", File.ReadAllText(Path.Combine(CompiledTemplate.RepositoryRoot, "docs", "deploy.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void Each_identity_holds_exactly_the_roles_the_code_needs()
    {
        JsonObject roles = CompiledTemplate.Variable("roles").AsObject();
        string RoleName(string expression)
        {
            Match m = Regex.Match(expression, @"variables\('roles'\)\.(\w+)");
            return m.Success ? m.Groups[1].Value : expression;
        }

        string Resolve(JsonNode? value) => value is null ? string.Empty : Regex.Match((string)value!, @"^\[variables\('(\w+)'\)\]$") is { Success: true } m ? (string)CompiledTemplate.Variable(m.Groups[1].Value)! : (string)value!;

        var assigned = new List<string>();
        foreach ((string _, JsonObject module) in CompiledTemplate.Resources().Where(r => (string?)r.Resource["type"] == "Microsoft.Resources/deployments" && ((string)r.Resource["name"]!).StartsWith("role-", StringComparison.Ordinal)))
        {
            JsonNode parameters = module["properties"]!["parameters"]!;
            string principal = (string)parameters["principalId"]!["value"]!;
            string who = principal.Contains("'functions'", StringComparison.Ordinal) ? "functions"
                : principal.Contains("worker-platform", StringComparison.Ordinal) ? "platform"
                : principal.Contains("'viewerIdentity'", StringComparison.Ordinal) || principal.Contains("viewer", StringComparison.Ordinal) ? "viewer"
                : principal.Contains("userAssignedIdentities", StringComparison.Ordinal) ? "worker"
                : principal.Contains("'slide-events'", StringComparison.Ordinal) ? "events"
                : principal;
            string name = (string)module["name"]!;
            string role = parameters["roleId"] is { } r ? RoleName((string)r["value"]!)
                : name.EndsWith("cosmos", StringComparison.Ordinal) ? (parameters["readOnly"] is { } ro && (bool)ro["value"]! ? "cosmosDataReader" : "cosmosDataContributor")
                : name.EndsWith("telemetry", StringComparison.Ordinal) ? "monitoringMetricsPublisher"
                : "acrPull";
            string account = (string?)parameters["accountName"]?["value"] is { } a ? a.Contains("'host-storage'", StringComparison.Ordinal) ? "host" : a.Contains("'data-storage'", StringComparison.Ordinal) ? "data" : string.Empty : string.Empty;
            string scope = parameters["containerName"] is { } c ? $"{account}/{Resolve(c["value"])}" : parameters["queueName"] is { } q ? $"{account}{(account.Length > 0 ? "/" : string.Empty)}{Resolve(q["value"])}" : account;
            assigned.Add($"{who} {role} {scope}".TrimEnd());
            if (parameters["roleId"] is not null)
            {
                Assert.True(roles.ContainsKey(role), role);
            }
        }

        Assert.True(assigned.Count == 24, string.Join("; ", assigned));
        Assert.Equal(
            new[]
            {
                "functions blobDataOwner host",
                "functions queueDataContributor host",
                "functions tableDataContributor host",
                "functions storageAccountContributor host",
                $"functions blobDataOwner data/{PipelineNames.SlidesContainer}",
                $"functions blobDataReader data/{PipelineNames.ModelsContainer}",
                $"functions blobDataContributor data/{PipelineNames.ResultsContainer}",
                "functions queueDataContributor data",
                $"functions serviceBusDataSender {PipelineNames.RangeQueue}",
                "functions cosmosDataContributor",
                $"worker blobDataReader data/{PipelineNames.SlidesContainer}",
                $"worker blobDataReader data/{PipelineNames.ModelsContainer}",
                $"worker blobDataContributor data/{PipelineNames.ResultsContainer}",
                $"worker queueDataMessageSender data/{PipelineNames.CompletionQueue}",
                $"worker serviceBusDataReceiver {PipelineNames.RangeQueue}",
                $"platform serviceBusDataOwner {PipelineNames.RangeQueue}",
                "platform acrPull",
                "functions monitoringMetricsPublisher",
                "worker monitoringMetricsPublisher",
                "events blobDataContributor data/slide-events-deadletter",
                $"viewer blobDataReader data/{PipelineNames.SlidesContainer}",
                $"viewer blobDataReader data/{PipelineNames.ResultsContainer}",
                "viewer cosmosDataReader",
                "viewer monitoringMetricsPublisher",
            }.Order(),
            assigned.Order());

        // The built-in role ids, as Azure defines them.
        Assert.Equal("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", (string)roles["blobDataOwner"]!);
        Assert.Equal("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", (string)roles["blobDataReader"]!);
        Assert.Equal("69a216fc-b8fb-44d8-bc22-1f3c2cd27a39", (string)roles["serviceBusDataSender"]!);
        Assert.Equal("17d1049b-9a84-46fb-8f53-869881c3d3ab", (string)roles["storageAccountContributor"]!);

        // The scaler's Data Owner and the image pull sit on an identity the worker's code can't use (lifecycle None).
        JsonNode app = CompiledTemplate.OfType("Microsoft.App/containerApps", "worker").Single()["properties"]!;
        JsonArray identitySettings = app["configuration"]!["identitySettings"]!.AsArray();
        Assert.Equal("[parameters('platformIdentityId')]", (string)identitySettings.Single(i => (string)i!["lifecycle"]! == "None")!["identity"]!);
        Assert.Equal("[parameters('identityId')]", (string)identitySettings.Single(i => (string)i!["lifecycle"]! == "Main")!["identity"]!);
        Assert.Equal("[parameters('platformIdentityId')]", (string)app["template"]!["scale"]!["rules"]![0]!["custom"]!["identity"]!);
        Assert.Equal("[parameters('platformIdentityId')]", (string)app["configuration"]!["registries"]![0]!["identity"]!);

        // Flex Consumption: a maximum instance count every documented floor allows, and an always-ready durable group.
        JsonNode scale = CompiledTemplate.OfType("Microsoft.Web/sites").Single()["properties"]!["functionAppConfig"]!["scaleAndConcurrency"]!;
        Assert.Contains("'durable'", (string)scale["alwaysReady"]!, StringComparison.Ordinal);
        Assert.Equal(40, (int)CompiledTemplate.Template["parameters"]!["functionMaxInstances"]!["minValue"]!);

        // Application Insights takes Entra tokens only, and both apps ask for them.
        Assert.True((bool)CompiledTemplate.OfType("Microsoft.Insights/components").Single()["properties"]!["DisableLocalAuth"]!);
        Assert.Contains("3913510d-42f4-4e42-8a64-420c390055eb", CompiledTemplate.Module("role-worker-telemetry").ToJsonString(), StringComparison.Ordinal);

        // Undeliverable upload events are dead-lettered with the topic's own identity, not dropped.
        JsonNode subscription = CompiledTemplate.OfType("Microsoft.EventGrid/systemTopics/eventSubscriptions").Single()["properties"]!;
        Assert.Equal("SystemAssigned", (string)subscription["deadLetterWithResourceIdentity"]!["identity"]!["type"]!);
        Assert.Equal("StorageBlob", (string)subscription["deadLetterWithResourceIdentity"]!["deadLetterDestination"]!["endpointType"]!);
        Assert.Equal("SystemAssigned", (string)CompiledTemplate.OfType("Microsoft.EventGrid/systemTopics").Single()["identity"]!["type"]!);
        Assert.Equal("4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0", (string)roles["serviceBusDataReceiver"]!);
        Assert.Contains("00000000-0000-0000-0000-000000000002", CompiledTemplate.Module("role-func-cosmos").ToJsonString(), StringComparison.Ordinal);
        JsonObject cosmosRole = CompiledTemplate.Module("role-viewer-cosmos");
        Assert.Contains("00000000-0000-0000-0000-000000000001", cosmosRole["properties"]!["template"]!.ToJsonString(), StringComparison.Ordinal);
    }

    private static string FunctionsMetadataPath()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "functions.metadata");
        Assert.True(File.Exists(path), $"{path} is written by the Functions build");
        return path;
    }

    [GeneratedRegex(@"['""]br[:/]")]
    private static partial Regex RegistryReference();
}
