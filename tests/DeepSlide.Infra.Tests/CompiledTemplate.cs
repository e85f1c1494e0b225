using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;

namespace DeepSlide.Infra.Tests;

/// <summary>The bicep CLI from the NuGet package, and infra/main.bicep compiled by it once per test run.</summary>
internal static class CompiledTemplate
{
    private static readonly Lazy<JsonObject> Main = new(() => Build("build", "main.bicep"));

    public static JsonObject Template => Main.Value;

    public static string RepositoryRoot => Path.GetFullPath(Metadata("RepositoryRoot"));

    public static string InfraFile(string name) => Path.Combine(RepositoryRoot, "infra", name);

    /// <summary>
    /// Runs <c>bicep build</c> or <c>build-params</c> on an infra/ file and returns the JSON it wrote, leaving no file
    /// behind; a compiler message fails the calling test with the message.
    /// </summary>
    public static JsonObject Build(string command, string file)
    {
        DirectoryInfo folder = Directory.CreateTempSubdirectory("deepslide-bicep-");
        try
        {
            string output = Path.Combine(folder.FullName, "out.json");
            (int exit, string stdout, string stderr) = Bicep(command, InfraFile(file), "--outfile", output);
            Assert.True(exit == 0, stdout + stderr);
            Assert.Equal(string.Empty, (stdout + stderr).Trim());
            return JsonNode.Parse(File.ReadAllText(output))!.AsObject();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    public static (int Exit, string Stdout, string Stderr) Bicep(params string[] arguments)
    {
        string executable = Metadata("Bicep");
        Assert.True(File.Exists(executable), $"the bicep CLI is not at {executable}; restore the Azure.Bicep.CommandLine.linux-x64 package.");
        if (!OperatingSystem.IsWindows())
        {
            // NuGet extracts the CLI without its execute bit.
            File.SetUnixFileMode(executable, File.GetUnixFileMode(executable) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        // Offline: no registry, no telemetry, no version check.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        using Process process = Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr);
    }

    /// <summary>Every resource of the template and of its modules' nested templates, with the module's deployment name.</summary>
    public static IEnumerable<(string Module, JsonObject Resource)> Resources(JsonObject? template = null, string module = "main")
    {
        template ??= Template;
        foreach (JsonObject resource in template["resources"]!.AsArray().Select(r => r!.AsObject()))
        {
            yield return (module, resource);
            if ((string?)resource["type"] == "Microsoft.Resources/deployments" && resource["properties"]?["template"] is JsonObject nested)
            {
                foreach (var inner in Resources(nested, (string)resource["name"]!))
                {
                    yield return inner;
                }
            }
        }
    }

    public static IEnumerable<JsonObject> OfType(string type) => Resources().Where(r => (string?)r.Resource["type"] == type).Select(r => r.Resource);

    /// <summary>The resources of a type that one module deploys.</summary>
    public static IEnumerable<JsonObject> OfType(string type, string module) => Resources().Where(r => r.Module == module && (string?)r.Resource["type"] == type).Select(r => r.Resource);

    /// <summary>The nested template of the module deployed under <paramref name="name"/>.</summary>
    public static JsonObject Module(string name) =>
        Resources().Single(r => (string?)r.Resource["type"] == "Microsoft.Resources/deployments" && (string?)r.Resource["name"] == name).Resource;

    /// <summary>A main-template variable.</summary>
    public static JsonNode Variable(string name) => Template["variables"]![name]!;

    private static string Metadata(string key) =>
        typeof(CompiledTemplate).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
