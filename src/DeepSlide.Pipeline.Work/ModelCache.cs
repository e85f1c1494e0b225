using DeepSlide.Caching;
using DeepSlide.Models;
using DeepSlide.Inference;
using DeepSlide.Pipeline;

namespace DeepSlide.Pipeline.Work;

/// <summary>A model in use: dispose it when the piece of work is done, so a replaced model's session can be freed.</summary>
public sealed class ModelLease : IDisposable
{
    private Action? _release;

    internal ModelLease(LoadedModel model, string version, Action release)
    {
        Classifier = model.Classifier;
        Confirmation = model.Confirmation;
        Version = version;
        _release = release;
    }

    public PatchClassifier Classifier { get; }

    /// <summary>An int8 bundle's FP32 graph and margins, when it carries one.</summary>
    public CallConfirmation? Confirmation { get; }

    /// <summary>The ETag of the manifest the model was loaded from: the version a run is pinned to.</summary>
    public string Version { get; }

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}

/// <summary>A bundle's loaded graphs: the one it classifies with and, for int8, the FP32 one that confirms.</summary>
internal sealed class LoadedModel(PatchClassifier classifier, CallConfirmation? confirmation) : IDisposable
{
    public PatchClassifier Classifier { get; } = classifier;

    public CallConfirmation? Confirmation { get; } = confirmation;

    public void Dispose()
    {
        Classifier.Dispose();
        Confirmation?.Dispose();
    }
}

/// <summary>
/// Model bundles under a blob prefix (<c>{prefix}/manifest.json</c> and the ONNX files it names), downloaded once per version
/// and loaded once per process. A run is pinned to the manifest version its plan was made with: a piece asks for that
/// version, and gets it while it is loaded or still stored, or a clear failure once the bundle was replaced. When a
/// newer version of a prefix is loaded, older sessions are disposed as soon as no piece holds them, so GPU memory
/// does not grow with every model update. The downloaded copy is deleted once its session is made.
/// </summary>
public sealed class ModelCache(IBlobStore store, string folder, InferenceOptions options, Microsoft.Extensions.Logging.ILogger? logger = null) : IDisposable
{
    private readonly LeasedCache<LoadedModel> _loaded = new();

    /// <summary>The model at <paramref name="version"/> (a manifest ETag), or at the stored version when null.</summary>
    public async Task<ModelLease> GetAsync(string prefix, string? version = null, CancellationToken cancellationToken = default)
    {
        string manifestBlob = ManifestBlob(prefix);
        version ??= (await store.GetVersionAsync(manifestBlob, cancellationToken)
            ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, manifestBlob, "no model bundle is stored under this prefix.")).ETag;
        string key = Key(prefix, version);
        LeasedCache<LoadedModel>.Lease lease = await _loaded.GetAsync(key, async () =>
        {
            LoadedModel loaded = await LoadAsync(prefix, version, CancellationToken.None);

            // Older versions of the prefix leave, and are freed as soon as no piece holds them.
            _loaded.Retire(other => other != key && other.StartsWith(Key(prefix, string.Empty), StringComparison.Ordinal) && Retiring(other));
            return loaded;
        }, cancellationToken);
        return new ModelLease(lease.Value, version, lease.Dispose);
    }

    /// <summary>The manifest at <paramref name="version"/>: the loaded model's when there is one, else the stored one, pinned to that version.</summary>
    public async Task<ModelManifest> GetManifestAsync(string prefix, string? version, string scratch, CancellationToken cancellationToken = default)
    {
        if (version is not null && _loaded.Peek(Key(prefix, version)) is { } loaded)
        {
            return loaded.Classifier.Manifest;
        }

        string manifestBlob = ManifestBlob(prefix);
        if (version is null)
        {
            return ModelManifestJson.Parse((await PipelineStores.ReadTextAsync(store, manifestBlob, scratch, "no model bundle is stored under this prefix.", DeepSlideErrorReason.InvalidModel, cancellationToken)).Text, manifestBlob);
        }

        Directory.CreateDirectory(scratch);
        string local = Path.Combine(scratch, $"{Guid.NewGuid():N}.json");
        try
        {
            await DownloadPinnedAsync(manifestBlob, version, local, cancellationToken);
            return ModelManifestJson.Parse(await File.ReadAllTextAsync(local, cancellationToken), manifestBlob);
        }
        finally
        {
            File.Delete(local);
        }
    }

    public void Dispose() => _loaded.Dispose();

    private static string Key(string prefix, string version) => $"{prefix}|{version}";

    private bool Retiring(string key)
    {
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "model {Model}: a newer version is loaded; this session is freed once no piece holds it", key);
        return true;
    }

    private static string ManifestBlob(string prefix) => $"{prefix.TrimEnd('/')}/{ModelBundle.ManifestFileName}";

    private async Task DownloadPinnedAsync(string manifestBlob, string version, string path, CancellationToken cancellationToken)
    {
        try
        {
            await store.DownloadAsync(manifestBlob, version, path, cancellationToken);
        }
        catch (DeepSlideException ex) when (ex.Reason == DeepSlideErrorReason.InvalidArgument)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, manifestBlob, $"the model bundle was replaced while a run was pinned to its version {version}; a run never mixes two models, so upload the slide again to classify it with the new one.", ex);
        }
    }

    private async Task<LoadedModel> LoadAsync(string prefix, string version, CancellationToken cancellationToken)
    {
        string local = Path.Combine(folder, $"{Guid.NewGuid():N}");
        string manifestBlob = ManifestBlob(prefix);
        try
        {
            Directory.CreateDirectory(local);
            string manifestPath = Path.Combine(local, ModelBundle.ManifestFileName);
            await DownloadPinnedAsync(manifestBlob, version, manifestPath, cancellationToken);
            OnnxFile onnx = ModelManifestJson.Parse(await File.ReadAllTextAsync(manifestPath, cancellationToken), manifestBlob).Onnx;
            foreach (string onnxFile in onnx.Confirm is { } confirm ? [onnx.File, confirm.File] : (string[])[onnx.File])
            {
                await PipelineStores.DownloadCurrentAsync(
                    store, $"{prefix.TrimEnd('/')}/{onnxFile}", Path.Combine(local, onnxFile), "the model file named in the manifest is not stored.", DeepSlideErrorReason.InvalidModel, cancellationToken);
            }

            ModelBundle bundle = ModelBundle.Load(local);
            if (bundle.IntegrityWarning is string warning)
            {
                Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "model {Prefix}: {Warning}", prefix, warning.Replace(local, manifestBlob, StringComparison.Ordinal));
            }

            PatchClassifier classifier = PatchClassifier.Load(bundle, options);
            return new LoadedModel(classifier, CallConfirmation.LoadNow(bundle, options));
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }
}
