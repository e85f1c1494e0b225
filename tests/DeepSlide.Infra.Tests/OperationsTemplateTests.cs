using System.Text.Json.Nodes;

namespace DeepSlide.Infra.Tests;

/// <summary>
/// Day two, from the compiled template: every resource that keeps logs sends them to Log Analytics, every alert has a
/// metric or a query and the action group, prod protects the data and dev stays cheap, basic-auth publishing is off,
/// and cost has a cap and a budget.
/// </summary>
public sealed class OperationsTemplateTests
{
    // The modules whose resources support diagnostic settings, and how many settings each must have.
    public static TheoryData<string, string, int> Diagnosed => new()
    {
        { "data-storage", "Microsoft.Storage/storageAccounts/blobServices", 2 },
        { "host-storage", "Microsoft.Storage/storageAccounts/blobServices", 2 },
        { "cosmos", "Microsoft.DocumentDB/databaseAccounts", 1 },
        { "service-bus", "Microsoft.ServiceBus/namespaces", 1 },
        { "registry", "Microsoft.ContainerRegistry/registries", 1 },
        { "slide-events", "Microsoft.EventGrid/systemTopics", 1 },
        { "functions", "Microsoft.Web/sites", 1 },
        { "worker", "Microsoft.App/managedEnvironments", 1 },
    };

    [Theory]
    [MemberData(nameof(Diagnosed))]
    public void Every_resource_that_keeps_logs_sends_them_to_the_workspace(string module, string type, int settings)
    {
        Assert.NotEmpty(CompiledTemplate.OfType(type, module));
        List<JsonObject> diagnostics = [.. CompiledTemplate.OfType("Microsoft.Insights/diagnosticSettings", module)];
        Assert.Equal(settings, diagnostics.Count);
        Assert.All(diagnostics, d =>
        {
            Assert.Equal("allLogs", (string)d["properties"]!["logs"]![0]!["categoryGroup"]!);
            Assert.True((bool)d["properties"]!["logs"]![0]!["enabled"]!);
            Assert.Contains("workspaceId", (string)d["properties"]!["workspaceId"]!, StringComparison.Ordinal);
        });

        // The module is handed the pipeline's workspace, not left without one.
        JsonNode? passed = CompiledTemplate.Module(module)["properties"]!["parameters"]!["workspaceId"]?["value"];
        Assert.Contains("'monitoring'", (string?)passed ?? string.Empty, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_alert_has_a_metric_or_a_query_and_tells_the_action_group()
    {
        JsonObject group = CompiledTemplate.OfType("Microsoft.Insights/actionGroups", "alerts").Single();
        Assert.Equal("Global", (string)group["location"]!);
        JsonObject alerts = CompiledTemplate.Module("alerts")["properties"]!["template"]!.AsObject();
        // The list joins the event alerts when slide events are on, so it compiles to one expression.
        string metricAlerts = (string)alerts["variables"]!["metricAlerts"]!;
        string[] metrics = ["DeadletteredMessages", "TotalRequests", "DeadLetteredCount", "DroppedEventCount", "DeliveryAttemptFailCount", "RestartCount", "Replicas"];
        Assert.All(metrics, m => Assert.Contains($"'metric', '{m}'", metricAlerts, StringComparison.Ordinal));
        Assert.Contains("'values', createArray(parameters('rangeQueue'))", metricAlerts, StringComparison.Ordinal);
        JsonObject metric = CompiledTemplate.OfType("Microsoft.Insights/metricAlerts", "alerts").Single();
        Assert.Equal("[variables('metricAlerts')[copyIndex()].metric]", (string)metric["properties"]!["criteria"]!["allOf"]![0]!["metricName"]!);
        Assert.Equal("[variables('actions')]", (string)metric["properties"]!["actions"]!);
        Assert.Contains("Microsoft.Insights/actionGroups", alerts["variables"]!["actions"]![0]!["actionGroupId"]!.ToString(), StringComparison.Ordinal);

        JsonObject query = CompiledTemplate.OfType("Microsoft.Insights/scheduledQueryRules", "alerts").Single();
        Assert.Equal("[variables('queryAlerts')[copyIndex()].query]", (string)query["properties"]!["criteria"]!["allOf"]![0]!["query"]!);
        Assert.Contains("Microsoft.Insights/actionGroups", (string)query["properties"]!["actions"]!["actionGroups"]![0]!, StringComparison.Ordinal);
        JsonArray queries = alerts["variables"]!["queryAlerts"]!.AsArray();
        Assert.Equal(["api-refusals", "exceptions", "runs-failed"], queries.Select(q => (string)q!["name"]!).Order());
        Assert.All(queries, q => Assert.False(string.IsNullOrWhiteSpace((string?)q!["query"])));

        // The failed-runs query reads what the orchestrator logs.
        string failed = (string)queries.Single(q => (string)q!["name"]! == "runs-failed")!["query"]!;
        string orchestrator = File.ReadAllText(Path.Combine(CompiledTemplate.RepositoryRoot, "src", "DeepSlide.Orchestration", "SlideRunOrchestrator.cs"));
        Assert.Contains("\"run {RunId} failed", orchestrator, StringComparison.Ordinal);
        Assert.Contains("Message startswith \"run \" and Message has \" failed\"", failed, StringComparison.Ordinal);
    }

    [Fact]
    public void Prod_protects_the_lab_s_data_and_dev_stays_cheap()
    {
        TemplateScope prod = TemplateScope.For("main.prod.bicepparam");
        TemplateScope dev = TemplateScope.For("main.dev.bicepparam");
        Assert.Equal("Standard_ZRS", prod.Parameter("dataRedundancy"));
        Assert.Equal("30", prod.Parameter("dataProtectionDays"));
        Assert.Equal("0", dev.Parameter("dataProtectionDays"));
        Assert.Equal("Standard_LRS", dev.Parameter("dataRedundancy"));

        JsonObject data = CompiledTemplate.Module("data-storage")["properties"]!["parameters"]!.AsObject();
        Assert.Equal("[parameters('dataProtectionDays')]", (string)data["protectionDays"]!["value"]!);
        Assert.Equal("[parameters('dataRedundancy')]", (string)data["skuName"]!["value"]!);

        // Soft delete of blobs and containers and versioning, all for the protection window, and a delete lock.
        string blobService = CompiledTemplate.OfType("Microsoft.Storage/storageAccounts/blobServices", "data-storage").Single()["properties"]!.ToJsonString();
        Assert.Contains("deleteRetentionPolicy", blobService, StringComparison.Ordinal);
        Assert.Contains("containerDeleteRetentionPolicy", blobService, StringComparison.Ordinal);
        Assert.Contains("isVersioningEnabled", blobService, StringComparison.Ordinal);
        JsonObject @lock = CompiledTemplate.OfType("Microsoft.Authorization/locks", "data-storage").Single();
        Assert.Equal("CanNotDelete", (string)@lock["properties"]!["level"]!);
        Assert.Contains("protectionDays", (string)@lock["condition"]!, StringComparison.Ordinal);
        Assert.Contains("expire-earlier-versions", CompiledTemplate.Module("data-storage").ToJsonString(), StringComparison.Ordinal);

        // Malware scanning of uploads, when asked for.
        JsonObject defender = CompiledTemplate.OfType("Microsoft.Security/defenderForStorageSettings", "data-storage").Single();
        Assert.True((bool)defender["properties"]!["malwareScanning"]!["onUpload"]!["isEnabled"]!);
        Assert.Contains("malwareScanning", (string)defender["condition"]!, StringComparison.Ordinal);
        Assert.Equal("[parameters('malwareScanning')]", (string)data["malwareScanning"]!["value"]!);
    }

    [Fact]
    public void Basic_auth_publishing_is_off_and_cost_has_a_daily_cap_and_a_budget()
    {
        List<JsonObject> policies = [.. CompiledTemplate.OfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies", "functions")];
        Assert.Equal(2, policies.Count);
        Assert.All(policies, p => Assert.False((bool)p["properties"]!["allow"]!));
        Assert.Equal(["ftp", "scm"], policies.Select(p => ((string)p["name"]!).Split('\'').Reverse().Skip(1).First()).Order());

        JsonObject workspace = CompiledTemplate.OfType("Microsoft.OperationalInsights/workspaces", "monitoring").Single();
        Assert.Equal("[parameters('dailyCapGb')]", (string)workspace["properties"]!["workspaceCapping"]!["dailyQuotaGb"]!);
        Assert.Equal("10", TemplateScope.For("main.prod.bicepparam").Parameter("logDailyCapGb"));

        JsonObject budget = CompiledTemplate.OfType("Microsoft.Consumption/budgets").Single();
        JsonObject notifications = budget["properties"]!["notifications"]!.AsObject();
        Assert.Equal(["actual80", "forecast100"], notifications.Select(n => n.Key).Order());
        Assert.All(notifications, n => Assert.Contains("actionGroupId", n.Value!["contactGroups"]![0]!.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void The_workbook_charts_the_metrics_the_code_emits()
    {
        JsonObject workbook = CompiledTemplate.Module("workbook")["properties"]!["template"]!.AsObject();
        string queries = string.Join("\n", workbook["variables"]!["queries"]!.AsArray().Select(q => (string)q!["query"]!));

        // Every metric the pipeline's meter defines is charted, under the name the code gives it, and the queries
        // read the workspace-based tables (AppMetrics: Name, Sum, ItemCount, Properties, AppRoleInstance).
        Assert.All(Pipeline.PipelineTelemetry.Metrics, name => Assert.Contains($"Name == \"{name}\"", queries, StringComparison.Ordinal));
        Assert.Contains("Properties.outcome", queries, StringComparison.Ordinal);
        Assert.Contains("Properties.stage", queries, StringComparison.Ordinal);
        Assert.Contains("DeadletteredMessages", queries, StringComparison.Ordinal);
        Assert.Contains("Usage | where IsBillable", queries, StringComparison.Ordinal);
        JsonObject resource = CompiledTemplate.OfType("Microsoft.Insights/workbooks", "workbook").Single();
        Assert.Equal("[parameters('workspaceId')]", (string)resource["properties"]!["sourceId"]!);

        // The hosts export that meter.
        Assert.Contains("m.AddMeter(PipelineTelemetry.MeterName)", File.ReadAllText(Path.Combine(CompiledTemplate.RepositoryRoot, "src", "DeepSlide.ServiceDefaults", "PipelineTelemetryExtensions.cs")), StringComparison.Ordinal);
    }
}
