using DeepSlide.Models;
using DeepSlide.Inference;
using DeepSlide.Pipeline;

namespace DeepSlide.Pipeline.Work;

/// <summary>
/// Model bundles under a blob prefix (<c>{prefix}/manifest.json</c> and its ONNX file), downloaded once per version
/// and loaded once per process: ONNX Runtime sessions live as long as the worker. The downloaded copy is deleted once
/// its session is made, so the disk holds no model between loads.
/// </summary>
public sealed class ModelCache(IBlobStore store, string folder, InferenceOptions options, Microsoft.Extensions.Logging.ILogger? logger = null) : IDisposable
{
    private readonly Dictionary<string, Task<PatchClassifier>> _loaded = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public async Task<PatchClassifier> GetAsync(string prefix, CancellationToken cancellationToken = default)
    {
        string manifestBlob = $"{prefix.TrimEnd('/')}/{ModelBundle.ManifestFileName}";
        BlobVersion version = await store.GetVersionAsync(manifestBlob, cancellationToken)
            ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, manifestBlob, "no model bundle is stored under this prefix.");
        string key = $"{prefix}|{version.ETag}";
        Task<PatchClassifier> load;
        lock (_gate)
        {
            if (!_loaded.TryGetValue(key, out load!))
            {
                // Shared by every caller, so no one caller's cancellation ends it; a load that fails leaves the table,
                // so the next call tries again instead of getting the same failure until the worker restarts.
                load = LoadAsync(prefix, version, CancellationToken.None);
                _loaded[key] = load;
                load.ContinueWith(
                    failed =>
                    {
                        lock (_gate)
                        {
                            if (_loaded.TryGetValue(key, out Task<PatchClassifier>? current) && current == failed)
                            {
                                _loaded.Remove(key);
                            }
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }

        return await load.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        foreach (Task<PatchClassifier> load in _loaded.Values.Where(t => t.IsCompletedSuccessfully))
        {
            load.Result.Dispose();
        }
    }

    private async Task<PatchClassifier> LoadAsync(string prefix, BlobVersion manifest, CancellationToken cancellationToken)
    {
        string local = Path.Combine(folder, $"{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(local);
            string manifestPath = Path.Combine(local, ModelBundle.ManifestFileName);
            await store.DownloadAsync(manifest.Name, manifest.ETag, manifestPath, cancellationToken);
            string onnxFile = ModelManifestJson.Parse(await File.ReadAllTextAsync(manifestPath, cancellationToken), manifest.Name).Onnx.File;
            await PipelineStores.DownloadCurrentAsync(
                store, $"{prefix.TrimEnd('/')}/{onnxFile}", Path.Combine(local, onnxFile), "the model file named in the manifest is not stored.", DeepSlideErrorReason.InvalidModel, cancellationToken);
            ModelBundle bundle = ModelBundle.Load(local);
            if (bundle.IntegrityWarning is string warning)
            {
                Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "model {Prefix}: {Warning}", prefix, warning.Replace(local, manifest.Name, StringComparison.Ordinal));
            }

            return PatchClassifier.Load(bundle, options);
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }
}
