using System.Net;
using System.Text.Json.Nodes;

namespace DeepSlide.Infra.Tests;

/// <summary>
/// Prod keeps slides and results inside a virtual network: each data service is reached through a private endpoint
/// with its public network access off, while dev stays public (identity-only either way). Every value is the compiled
/// template's, resolved for the parameter file as Azure would.
/// </summary>
public sealed class PrivateNetworkTests
{
    // Private DNS zone of each private-link group in the public cloud
    // (https://learn.microsoft.com/azure/private-link/private-endpoint-dns).
    private static readonly Dictionary<string, string> Zones = new()
    {
        ["blob"] = "privatelink.blob.core.windows.net",
        ["queue"] = "privatelink.queue.core.windows.net",
        ["table"] = "privatelink.table.core.windows.net",
        ["namespace"] = "privatelink.servicebus.windows.net",
        ["Sql"] = "privatelink.documents.azure.com",
        ["sites"] = "privatelink.azurewebsites.net",
    };

    [Fact]
    public void Prod_is_private_and_dev_is_public()
    {
        Assert.Equal("true", TemplateScope.For("main.prod.bicepparam").Parameter("privateNetworking"));
        Assert.Equal("false", TemplateScope.For("main.dev.bicepparam").Parameter("privateNetworking"));
        Assert.Equal("false", TemplateScope.For(null).Parameter("privateNetworking"));
    }

    [Fact]
    public void A_private_deployment_turns_public_network_access_off_on_every_data_service()
    {
        TemplateScope main = TemplateScope.For("main.prod.bicepparam");

        JsonNode host = Account("host-storage");
        TemplateScope hostScope = main.Module("host-storage");
        Assert.Equal("Disabled", hostScope.Resolve(host["publicNetworkAccess"]));
        Assert.Equal("Deny", hostScope.Resolve(host["networkAcls"]!["defaultAction"]));

        // The data account's public endpoint answers trusted Azure services only: Event Grid dead-letters undeliverable
        // upload events there with its own identity. No address or network is let in.
        JsonNode data = Account("data-storage");
        TemplateScope dataScope = main.Module("data-storage");
        Assert.Equal("Enabled", dataScope.Resolve(data["publicNetworkAccess"]));
        Assert.Equal("Deny", dataScope.Resolve(data["networkAcls"]!["defaultAction"]));
        Assert.Equal("AzureServices", dataScope.Resolve(data["networkAcls"]!["bypass"]));
        Assert.Empty(data["networkAcls"]!["ipRules"]!.AsArray());
        Assert.Empty(data["networkAcls"]!["virtualNetworkRules"]!.AsArray());

        JsonNode serviceBus = CompiledTemplate.OfType("Microsoft.ServiceBus/namespaces").Single();
        TemplateScope sbScope = main.Module("service-bus");
        Assert.Equal("Disabled", sbScope.Resolve(serviceBus["properties"]!["publicNetworkAccess"]));
        Assert.Equal("Premium", sbScope.Resolve(serviceBus["sku"]!["name"]));

        JsonNode cosmos = CompiledTemplate.OfType("Microsoft.DocumentDB/databaseAccounts").Single();
        Assert.Equal("Disabled", main.Module("cosmos").Resolve(cosmos["properties"]!["publicNetworkAccess"]));
    }

    [Fact]
    public void Even_a_Standard_Service_Bus_parameter_gets_Premium_when_private()
    {
        // Standard has no private endpoints; the template must not deploy a private network around one.
        JsonNode serviceBus = CompiledTemplate.OfType("Microsoft.ServiceBus/namespaces").Single();
        Assert.Equal("'Premium'", Between(CompiledTemplate.Variable("serviceBusTier").ToString(), "parameters('privateNetworking'), ", ","));
        Assert.Equal("Standard", TemplateScope.For(null).Module("service-bus").Resolve(serviceBus["sku"]!["name"]));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("main.dev.bicepparam")]
    public void A_public_deployment_has_no_network_and_leaves_every_service_reachable_by_identity(string? parameterFile)
    {
        TemplateScope main = TemplateScope.For(parameterFile);
        Assert.False(main.Deployed(CompiledTemplate.Module("network")));
        Assert.All(EndpointModules(), m => Assert.False(main.Deployed(m)));

        foreach (string module in new[] { "host-storage", "data-storage" })
        {
            Assert.Equal("Enabled", main.Module(module).Resolve(Account(module)["publicNetworkAccess"]));
            Assert.Equal("Allow", main.Module(module).Resolve(Account(module)["networkAcls"]!["defaultAction"]));
        }

        Assert.Equal("Enabled", main.Module("service-bus").Resolve(CompiledTemplate.OfType("Microsoft.ServiceBus/namespaces").Single()["properties"]!["publicNetworkAccess"]));
        Assert.Equal("Enabled", main.Module("cosmos").Resolve(CompiledTemplate.OfType("Microsoft.DocumentDB/databaseAccounts").Single()["properties"]!["publicNetworkAccess"]));
        JsonNode site = Site();
        Assert.Equal("Allow", main.Module("functions").Resolve(site["properties"]!["siteConfig"]!["ipSecurityRestrictionsDefaultAction"]));
        Assert.Equal("", main.Module("functions").Parameter("subnetId"));
        Assert.Equal("", main.Module("worker").Parameter("infrastructureSubnetId"));
    }

    [Fact]
    public void Every_service_and_group_the_code_connects_to_has_a_private_endpoint_in_the_zone_that_resolves_it()
    {
        TemplateScope main = TemplateScope.For("main.prod.bicepparam");
        Assert.True(main.Deployed(CompiledTemplate.Module("network")));
        Assert.All(EndpointModules(), m => Assert.True(main.Deployed(m)));

        // The host storage: blobs (leases, the deployment package), queues and tables (the durable task hub); the data
        // storage: blobs (slides, results, models) and the completion queue; Service Bus; Cosmos DB; the app itself.
        var endpoints = CompiledTemplate.Variable("privateEndpoints").AsArray()
            .Select(e => (Target: Between((string)e!["target"]!, "resourceId('", "'"), Group: (string)e["group"]!))
            .ToList();
        Assert.Equal(
            [
                ("Microsoft.DocumentDB/databaseAccounts", "Sql"),
                ("Microsoft.ServiceBus/namespaces", "namespace"),
                ("Microsoft.Storage/storageAccounts", "blob"),
                ("Microsoft.Storage/storageAccounts", "blob"),
                ("Microsoft.Storage/storageAccounts", "queue"),
                ("Microsoft.Storage/storageAccounts", "queue"),
                ("Microsoft.Storage/storageAccounts", "table"),
                ("Microsoft.Web/sites", "sites"),
            ],
            endpoints.OrderBy(e => e.Target, StringComparer.Ordinal).ThenBy(e => e.Group, StringComparer.Ordinal));
        Assert.Equal(8, CompiledTemplate.Variable("privateEndpoints").AsArray().Select(e => e!.ToJsonString()).Distinct().Count());

        // Each endpoint registers in its group's zone, and the network links every zone.
        JsonObject zones = CompiledTemplate.Variable("dnsZones").AsObject();
        Assert.Equal(Zones.Keys.Order(), zones.Select(z => z.Key).Order());
        Assert.All(zones, z => Assert.Equal(Zones[z.Key], main.Resolve(z.Value)));
        JsonNode endpointModule = EndpointModules().Single();
        Assert.Equal("[variables('dnsZones')[variables('privateEndpoints')[copyIndex()].group]]", (string)endpointModule["properties"]!["parameters"]!["dnsZoneName"]!["value"]!);
        Assert.Equal("[map(items(variables('dnsZones')), lambda('z', lambdaVariables('z').value))]", (string)CompiledTemplate.Module("network")["properties"]!["parameters"]!["dnsZones"]!["value"]!);
        JsonObject networkTemplate = CompiledTemplate.Module("network")["properties"]!["template"]!.AsObject();
        JsonNode link = networkTemplate["resources"]!.AsArray().Single(r => (string?)r!["type"] == "Microsoft.Network/privateDnsZones/virtualNetworkLinks")!;
        Assert.Equal("false", TemplateScope.Literal(link["properties"]!["registrationEnabled"]!));
        Assert.Equal("[length(parameters('dnsZones'))]", (string)link["copy"]!["count"]!);
    }

    [Fact]
    public void The_subnets_fit_in_the_network_do_not_overlap_and_are_delegated_as_Flex_and_Container_Apps_require()
    {
        TemplateScope network = TemplateScope.For("main.prod.bicepparam").Module("network");
        JsonNode vnet = CompiledTemplate.OfType("Microsoft.Network/virtualNetworks").Single();
        IPNetwork space = IPNetwork.Parse(network.Resolve(vnet["properties"]!["addressSpace"]!["addressPrefixes"]![0])!);
        var subnets = vnet["properties"]!["subnets"]!.AsArray().ToDictionary(
            s => (string)s!["name"]!,
            s => (Prefix: IPNetwork.Parse(network.Resolve(s!["properties"]!["addressPrefix"])!), Delegations: s["properties"]!["delegations"]?.AsArray().Select(d => (string)d!["properties"]!["serviceName"]!).ToList() ?? []));

        Assert.Equal(["functions", "private-endpoints", "worker"], subnets.Keys.Order());
        Assert.All(subnets.Values, s => Assert.True(space.Contains(s.Prefix.BaseAddress) && s.Prefix.PrefixLength >= space.PrefixLength));
        var ranges = subnets.Values.Select(s => (First: TemplateScope.Address(s.Prefix.BaseAddress), Last: TemplateScope.Address(s.Prefix.BaseAddress) + (uint)((1UL << (32 - s.Prefix.PrefixLength)) - 1))).OrderBy(r => r.First).ToList();
        Assert.All(ranges.Zip(ranges.Skip(1)), pair => Assert.True(pair.First.Last < pair.Second.First, $"{pair.First} overlaps {pair.Second}"));

        // Flex Consumption integrates through Microsoft.App/environments; a workload-profiles environment needs a /27
        // or larger, delegated the same way; private endpoints take an undelegated subnet.
        Assert.Equal(["Microsoft.App/environments"], subnets["functions"].Delegations);
        Assert.Equal(["Microsoft.App/environments"], subnets["worker"].Delegations);
        Assert.True(subnets["worker"].Prefix.PrefixLength <= 27);
        Assert.Empty(subnets["private-endpoints"].Delegations);
    }

    [Fact]
    public void The_Functions_app_and_the_worker_join_the_network_and_only_Event_Grid_reaches_the_app_publicly()
    {
        TemplateScope main = TemplateScope.For("main.prod.bicepparam");
        Assert.Contains("functionsSubnetId", (string)CompiledTemplate.Module("functions")["properties"]!["parameters"]!["subnetId"]!["value"]!);
        Assert.Contains("workerSubnetId", (string)CompiledTemplate.Module("worker")["properties"]!["parameters"]!["infrastructureSubnetId"]!["value"]!);
        Assert.Equal("[if(empty(parameters('subnetId')), null(), parameters('subnetId'))]", (string)Site()["properties"]!["virtualNetworkSubnetId"]!);

        TemplateScope functions = main.Module("functions");
        JsonNode config = Site()["properties"]!["siteConfig"]!;
        Assert.Equal("Deny", functions.Resolve(config["ipSecurityRestrictionsDefaultAction"]));
        Assert.Equal("Deny", functions.Resolve(config["scmIpSecurityRestrictionsDefaultAction"]));
        Assert.Equal("false", TemplateScope.Literal(config["scmIpSecurityRestrictionsUseMain"]!));
        JsonArray rules = JsonNode.Parse(functions.Resolve(config["ipSecurityRestrictions"])!)!.AsArray();
        JsonNode rule = Assert.Single(rules)!;
        Assert.Equal(("Allow", "ServiceTag", "AzureEventGrid"), ((string)rule["action"]!, (string)rule["tag"]!, (string)rule["ipAddress"]!));

        JsonNode environment = CompiledTemplate.OfType("Microsoft.App/managedEnvironments").Single();
        Assert.Contains("infrastructureSubnetId", environment["properties"]!["vnetConfiguration"]!.ToString());
        Assert.Contains("'internal', true()", environment["properties"]!["vnetConfiguration"]!.ToString());
    }

    private static JsonNode Account(string module) =>
        CompiledTemplate.Module(module)["properties"]!["template"]!["resources"]!.AsArray()
            .Single(r => (string?)r!["type"] == "Microsoft.Storage/storageAccounts")!["properties"]!;

    private static JsonNode Site() => CompiledTemplate.OfType("Microsoft.Web/sites").Single();

    private static IEnumerable<JsonNode> EndpointModules() =>
        CompiledTemplate.Template["resources"]!.AsArray().Where(r => ((string?)r!["name"])?.Contains("'pe-{0}'", StringComparison.Ordinal) == true)!;

    private static string Between(string text, string start, string end)
    {
        int from = text.IndexOf(start, StringComparison.Ordinal) + start.Length;
        return text[from..text.IndexOf(end, from, StringComparison.Ordinal)];
    }
}
