using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace DeepSlide.Infra.Tests;

/// <summary>
/// docs/deploy.md against the parameter files: a redeploy with the documented command must change nothing that an
/// earlier step set, so the runbook passes nothing by hand, and whatever it exports the parameter files read.
/// </summary>
public sealed partial class DeployRunbookTests
{
    private static readonly string Runbook = File.ReadAllText(Path.Combine(CompiledTemplate.RepositoryRoot, "docs", "deploy.md"));

    [Fact]
    public void Every_deployment_command_takes_its_parameters_from_a_parameter_file_only()
    {
        string joined = Runbook.Replace("\\\n", " ", StringComparison.Ordinal);
        string[] commands = joined.Split('\n').Where(l => DeploymentCommand().IsMatch(l)).ToArray();
        Assert.NotEmpty(commands);
        Assert.All(commands, c =>
        {
            Assert.Matches(@"-p \$PARAMS(\s|$)", c);
            Assert.DoesNotMatch(@"-p [A-Za-z]+=", c);
            Assert.DoesNotMatch(@"--parameters [A-Za-z]+=", c);
        });
    }

    [Theory]
    [InlineData("main.dev.bicepparam")]
    [InlineData("main.prod.bicepparam")]
    public void Each_variable_the_runbook_exports_is_read_by_the_parameter_file(string file)
    {
        string parameters = File.ReadAllText(CompiledTemplate.InfraFile(file));
        string[] exported = [.. ExportedVariable().Matches(Runbook).Select(m => m.Groups["name"].Value).Distinct()];
        Assert.Equal(["DEEPSLIDE_API_CLIENT_ID", "DEEPSLIDE_SLIDE_EVENTS", "DEEPSLIDE_VIEWER_IMAGE", "DEEPSLIDE_VIEWER_LOGIN_SECRET_URI", "DEEPSLIDE_WORKER_IMAGE"], exported.Order());
        Assert.All(exported, name => Assert.Contains($"readEnvironmentVariable('{name}'", parameters));
    }

    [Fact]
    public void Without_an_image_the_worker_app_is_not_deployed_so_no_redeploy_puts_a_placeholder_back()
    {
        var main = CompiledTemplate.Template;
        Assert.Equal(string.Empty, (string)main["parameters"]!["workerImage"]!["defaultValue"]!);
        Assert.Equal("[not(empty(parameters('workerImage')))]", (string)CompiledTemplate.Module("worker")["condition"]!);
        Assert.DoesNotContain("quickstart", main.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_API_takes_Entra_tokens_only_and_Event_Grids_webhook_still_gets_through()
    {
        JsonNode auth = CompiledTemplate.OfType("Microsoft.Web/sites/config").Single(c => ((string)c["name"]!).Contains("authsettingsV2", StringComparison.Ordinal))["properties"]!;
        Assert.True((bool)auth["platform"]!["enabled"]!);
        Assert.True((bool)auth["globalValidation"]!["requireAuthentication"]!);
        Assert.Equal("Return401", (string)auth["globalValidation"]!["unauthenticatedClientAction"]!);
        Assert.Equal(["/runtime/webhooks/blobs"], auth["globalValidation"]!["excludedPaths"]!.AsArray().Select(p => (string)p!));
        string roles = File.ReadAllText(CompiledTemplate.InfraFile("api-roles.json"));
        Assert.Contains($"\"{Functions.CallerRoles.Read}\"", roles);
        Assert.Contains($"\"{Functions.CallerRoles.ReadWrite}\"", roles);
        Assert.DoesNotContain("?code=", Runbook);
    }

    [GeneratedRegex(@"az deployment group (create|what-if)")]
    private static partial Regex DeploymentCommand();

    [GeneratedRegex(@"export (?<name>DEEPSLIDE_[A-Z_]+)=")]
    private static partial Regex ExportedVariable();
}
