using System.Diagnostics;
using System.Text.RegularExpressions;
using Azure.Storage.Queues.Models;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Models;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Local;
using DeepSlide.Pipeline.Storage;
using DeepSlide.Slides;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using Google.Protobuf;

namespace DeepSlide.Infra.Tests;

/// <summary>
/// Docker can't run here, so the worker image is checked the next best way: the worker is published with the
/// Dockerfile's own publish command, and the published program is started as its own process with the template's
/// environment (storage pointed at Azurite instead of identity, the CPU instead of CUDA). It must take one range
/// from the queue and report it done.
/// </summary>
public sealed partial class PublishedWorkerTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-published-").FullName;
    private Azurite? _azurite;

    public async Task InitializeAsync() => _azurite = await Azurite.StartAsync();

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task The_worker_published_as_the_Dockerfile_does_takes_a_range_with_the_templates_environment()
    {
        string dockerfile = File.ReadAllText(Path.Combine(CompiledTemplate.RepositoryRoot, "src", "DeepSlide.Worker", "Dockerfile"));
        Match publish = PublishCommand().Match(dockerfile);
        Assert.True(publish.Success, "the Dockerfile has no 'RUN dotnet publish ... -o /app' line");
        Match entry = EntryPoint().Match(dockerfile);
        Assert.True(entry.Success, "the Dockerfile has no ENTRYPOINT [\"/app/...\"]");
        // As docker build does: the build context, less what .dockerignore leaves out, in a clean folder. Publishing in
        // the checkout itself would share obj/ with the normal (framework-dependent) build of the same RID.
        string context = Path.Combine(_folder, "src");
        CopyBuildContext(CompiledTemplate.RepositoryRoot, context);
        string output = Path.Combine(_folder, "app");
        (int exit, string log) = await RunAsync("dotnet", ["publish", .. publish.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries), "-o", output, "--nologo"], context);
        Assert.True(exit == 0, log);

        // The CUDA base image has no .NET runtime (Ubuntu 24.04's archive stops at .NET 8), so the output must carry
        // its own; this machine has one installed, which would hide a framework-dependent publish.
        Assert.True(File.Exists(Path.Combine(output, "libcoreclr.so")), "the published worker is not self-contained");
        Assert.True(File.Exists(Path.Combine(output, "libonnxruntime_providers_cuda.so")), "the CUDA execution provider is missing from the output");

        string suffix = $"{Guid.NewGuid():N}"[..8];
        PipelineStores stores = await new StorageAccount(_azurite!.ConnectionString).StoresAsync();
        (BlobVersion slide, int tiles) = await UploadWorkAsync(stores, suffix);

        Dictionary<string, string?> env = SettingsBindingTests.WorkerEnvironment();
        foreach (string identityOnly in new[] { "Worker__StorageBlobServiceUri", "Worker__StorageQueueServiceUri", "Worker__ServiceBusNamespace", "Worker__ManagedIdentityClientId", "AZURE_CLIENT_ID", "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING" })
        {
            Assert.True(env.Remove(identityOnly), identityOnly);
        }

        env["Worker__StorageConnection"] = _azurite.ConnectionString;
        env["Worker__Device"] = "Cpu";
        env["Worker__RangeQueue"] = $"ranges-{suffix}";
        env["Worker__CompletionQueue"] = $"done-{suffix}";
        env["Worker__CacheFolder"] = Path.Combine(_folder, "cache");
        int healthPort = LocalServer.FreePort();
        Assert.Equal("8080", env["Worker__HealthPort"]);
        env["Worker__HealthPort"] = healthPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var start = new ProcessStartInfo(Path.Combine(output, entry.Groups["program"].Value)) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach ((string name, string? value) in env)
        {
            start.Environment[name] = value;
        }

        using Process worker = Process.Start(start)!;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        worker.OutputDataReceived += (_, e) => lines.Enqueue(e.Data ?? string.Empty);
        worker.ErrorDataReceived += (_, e) => lines.Enqueue(e.Data ?? string.Empty);
        worker.BeginOutputReadLine();
        worker.BeginErrorReadLine();
        try
        {
            var queues = new StorageAccount(_azurite.ConnectionString).Queues();
            await using IWorkTransport sender = await StorageQueueTransport.CreateAsync(queues, new WorkQueueOptions { QueueName = $"ranges-{suffix}" });
            await sender.SendAsync([new WorkMessage("run1", $"{suffix}/slides/slide.svs", slide.ETag, $"{suffix}/plans/run1.json", $"{suffix}/models/v1", WorkItem.ForRange(new Tiling.TileRange(0, 0, tiles)))]);

            var done = queues.GetQueueClient($"done-{suffix}");
            await done.CreateIfNotExistsAsync();
            WorkCompletion? notice = null;
            for (var deadline = DateTime.UtcNow.AddSeconds(120); notice is null && DateTime.UtcNow < deadline && !worker.HasExited;)
            {
                QueueMessage? message = (await done.ReceiveMessageAsync()).Value;
                notice = message is null ? null : WorkCompletion.FromJson(message.Body.ToString());
                if (notice is null)
                {
                    await Task.Delay(250);
                }
            }

            Assert.False(worker.HasExited, $"the published worker exited with {(worker.HasExited ? worker.ExitCode : 0)}:\n{string.Join('\n', lines)}");
            Assert.True(notice is not null, $"no completion notice within 120 s:\n{string.Join('\n', lines)}");
            Assert.True(notice.Succeeded, notice.Error);
            Assert.Equal(tiles, notice.Patches);
            Assert.NotNull(await stores.Results.GetVersionAsync(notice.OutputBlob!));

            // What the platform's liveness and readiness probes ask.
            using var http = new HttpClient();
            HttpResponseMessage health = await http.GetAsync($"http://127.0.0.1:{healthPort}/healthz");
            Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
            Assert.Equal("ok", await health.Content.ReadAsStringAsync());
        }
        finally
        {
            worker.Kill(entireProcessTree: true);
            await worker.WaitForExitAsync();
        }
    }

    // A small slide, a model (the packaged backbone and a fixed head), and the slide's plan, as the pipeline leaves them.
    private async Task<(BlobVersion Slide, int Tiles)> UploadWorkAsync(PipelineStores stores, string prefix)
    {
        string slidePath = Path.Combine(_folder, "slide.svs");
        SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("squamous", 1600, 1200, 3)), slidePath, SyntheticFormat.Aperio);
        var head = new SoftmaxModel(3, ResNetBackbone.FeatureCount, new float[3 * ResNetBackbone.FeatureCount], [0.1f, 0, -0.1f]);
        ModelBundle bundle = ModelBundle.Save(Path.Combine(_folder, "model"), new ModelManifest
        {
            Classes = ["adenocarcinoma", "benign", "squamous"],
            Output = new ModelOutput { Probabilities = ClassifierGraph.ProbabilitiesName, Features = ResNetBackbone.FeaturesName },
        }, ClassifierGraph.Build(ResNetBackbone.Build(), head).ToByteArray());
        foreach (string file in new[] { "manifest.json", "model.onnx" })
        {
            await using var stream = File.OpenRead(Path.Combine(bundle.Folder, file));
            await stores.Models.UploadAsync($"{prefix}/models/v1/{file}", stream);
        }

        BlobVersion slide;
        await using (var stream = File.OpenRead(slidePath))
        {
            slide = await stores.Slides.UploadAsync($"{prefix}/slides/slide.svs", stream);
        }

        using ISlideReader reader = SlideReader.Open(slidePath);
        Tiling.TilePlan plan = Tiling.TilePlanner.Plan(reader, new Tiling.TilingOptions());
        await using (var json = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Results.TilePlanJson.Serialize(plan))))
        {
            await stores.Results.UploadAsync($"{prefix}/plans/run1.json", json);
        }

        return (slide, Math.Min(4, plan.Tiles.Count));
    }

    // Copies the repository as Docker's build context: .dockerignore's "**/name" drops any folder or file of that name,
    // "**/*.ext" any file with that extension, and any other line that path from the root.
    private static void CopyBuildContext(string root, string target)
    {
        string[] rules = File.ReadAllLines(Path.Combine(root, ".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();
        bool Ignored(string relative)
        {
            string[] segments = relative.Split('/');
            foreach (string rule in rules)
            {
                if (rule.StartsWith("**/*.", StringComparison.Ordinal) ? relative.EndsWith(rule[4..], StringComparison.Ordinal)
                    : rule.StartsWith("**/", StringComparison.Ordinal) ? segments.Contains(rule[3..])
                    : relative == rule || relative.StartsWith(rule + "/", StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            string folder = pending.Pop();
            foreach (string entry in Directory.EnumerateFileSystemEntries(folder))
            {
                string relative = Path.GetRelativePath(root, entry).Replace('\\', '/');
                if (Ignored(relative))
                {
                    continue;
                }

                if (Directory.Exists(entry))
                {
                    pending.Push(entry);
                }
                else
                {
                    string destination = Path.Combine(target, relative);
                    Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                    File.Copy(entry, destination);
                }
            }
        }
    }

    private static async Task<(int Exit, string Log)> RunAsync(string file, IEnumerable<string> arguments, string directory)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"RUN dotnet publish (?<args>.+?) -o /app\s*$", RegexOptions.Multiline)]
    private static partial Regex PublishCommand();

    [GeneratedRegex(@"ENTRYPOINT \[""/app/(?<program>[^""]+)""\]")]
    private static partial Regex EntryPoint();
}
