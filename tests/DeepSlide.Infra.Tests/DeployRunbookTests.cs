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

    [Fact]
    public void The_deploy_function_refuses_to_run_without_the_API_registration()
    {
        string deploy = Regex.Match(Runbook, @"deploy\(\) \{(?<body>.*?)\n\}", RegexOptions.Singleline).Groups["body"].Value;
        Assert.Contains(": \"${DEEPSLIDE_API_CLIENT_ID:?", deploy, StringComparison.Ordinal);
        Assert.True(deploy.IndexOf("DEEPSLIDE_API_CLIENT_ID", StringComparison.Ordinal) < deploy.IndexOf("az deployment group create", StringComparison.Ordinal));
        Assert.DoesNotContain("keep both variables", Runbook, StringComparison.Ordinal);

        // The guard is real bash: it stops with its message when the variable is unset, and lets a set one through.
        (int unset, string why) = Bash(": \"${DEEPSLIDE_API_CLIENT_ID:?is not set}\"", null);
        Assert.NotEqual(0, unset);
        Assert.Contains("DEEPSLIDE_API_CLIENT_ID: is not set", why, StringComparison.Ordinal);
        Assert.Equal(0, Bash(": \"${DEEPSLIDE_API_CLIENT_ID:?is not set}\"", "00000000-0000-0000-0000-000000000001").Exit);
    }

    [Fact]
    public void Every_resource_provider_the_template_deploys_is_registered_first_Microsoft_App_included()
    {
        string registered = Regex.Match(Runbook, @"for ns in (?<list>.*?); do", RegexOptions.Singleline).Groups["list"].Value.Replace("\\\n", " ", StringComparison.Ordinal);
        HashSet<string> namespaces = [.. registered.Split([' ', '\\', '\n'], StringSplitOptions.RemoveEmptyEntries)];
        Assert.Contains("az provider register --namespace $ns --wait", Runbook, StringComparison.Ordinal);
        IEnumerable<string> deployed = CompiledTemplate.Resources()
            .Select(r => ((string)r.Resource["type"]!).Split('/')[0])
            .Where(n => n is not "Microsoft.Resources" and not "Microsoft.Authorization")
            .Distinct(StringComparer.OrdinalIgnoreCase);
        Assert.All(deployed, n => Assert.Contains(n, namespaces, StringComparer.OrdinalIgnoreCase));
        Assert.Contains("Microsoft.App", namespaces);
    }

    [Fact]
    public void The_region_check_and_the_Event_Grid_key_wait_use_the_documented_commands()
    {
        // az functionapp list-flexconsumption-runtimes -l <region> --runtime dotnet-isolated (learn.microsoft.com/cli/azure/functionapp).
        Assert.Matches(@"az functionapp list-flexconsumption-runtimes -l \$LOCATION --runtime dotnet-isolated ", Runbook);
        Assert.DoesNotContain("list-flexconsumption-locations", Runbook, StringComparison.Ordinal);
        Assert.Contains("|| { echo \"Flex Consumption offers no .NET 10", Runbook, StringComparison.Ordinal);

        // The blob extension's key is read after publishing, with a bounded wait and a message that says what to do.
        int publish = Runbook.IndexOf("az functionapp deployment source config-zip", StringComparison.Ordinal);
        int key = Runbook.IndexOf("az functionapp keys list -g $RG -n $FUNC --query systemKeys.blobs_extension", StringComparison.Ordinal);
        Assert.InRange(key, publish + 1, Runbook.IndexOf("## 3.", StringComparison.Ordinal));
        Assert.Contains("for i in $(seq 1 30)", Runbook, StringComparison.Ordinal);
        Assert.Contains("Azure/Azure-Functions/issues/2635", Runbook, StringComparison.Ordinal);
    }

    [Fact]
    public void The_worker_image_builds_on_a_base_imported_by_digest_and_runs_as_a_user()
    {
        string dockerfile = File.ReadAllText(Path.Combine(CompiledTemplate.RepositoryRoot, "src", "DeepSlide.Worker", "Dockerfile"));
        Assert.Matches(@"(?m)^ARG CUDA_BASE=nvidia/cuda:13\.0\.0-cudnn-runtime-ubuntu24\.04\s*$", dockerfile);
        Assert.True(dockerfile.IndexOf("ARG CUDA_BASE", StringComparison.Ordinal) < Regex.Match(dockerfile, "(?m)^FROM ").Index, "a FROM can use only an ARG declared before the first FROM");
        Assert.Contains("FROM ${CUDA_BASE}", dockerfile, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^USER 10001\s*$", dockerfile);
        Assert.True(dockerfile.LastIndexOf("USER ", StringComparison.Ordinal) > dockerfile.LastIndexOf("RUN ", StringComparison.Ordinal));
        Assert.Contains("az acr import -n ${ACR%%.*} --source docker.io/nvidia/cuda:13.0.0-cudnn-runtime-ubuntu24.04", Runbook, StringComparison.Ordinal);
        Assert.Contains("--build-arg CUDA_BASE=$ACR/base/cuda@$CUDA_DIGEST", Runbook, StringComparison.Ordinal);
        Assert.Contains("USER $APP_UID", File.ReadAllText(Path.Combine(CompiledTemplate.RepositoryRoot, "src", "DeepSlide.Viewer.Host", "Dockerfile")), StringComparison.Ordinal);
    }

    private static (int Exit, string Error) Bash(string script, string? clientId)
    {
        var start = new System.Diagnostics.ProcessStartInfo("bash", ["-c", script]) { RedirectStandardError = true };
        start.Environment.Remove("DEEPSLIDE_API_CLIENT_ID");
        if (clientId is not null)
        {
            start.Environment["DEEPSLIDE_API_CLIENT_ID"] = clientId;
        }

        using var bash = System.Diagnostics.Process.Start(start)!;
        string error = bash.StandardError.ReadToEnd();
        bash.WaitForExit();
        return (bash.ExitCode, error);
    }

    [GeneratedRegex(@"az deployment group (create|what-if)")]
    private static partial Regex DeploymentCommand();

    [GeneratedRegex(@"export (?<name>DEEPSLIDE_[A-Z_]+)=")]
    private static partial Regex ExportedVariable();
}
