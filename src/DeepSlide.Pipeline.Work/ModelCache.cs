using DeepSlide.Models;
using DeepSlide.Inference;
using DeepSlide.Pipeline;

namespace DeepSlide.Pipeline.Work;

/// <summary>A model in use: dispose it when the piece of work is done, so a replaced model's session can be freed.</summary>
public sealed class ModelLease : IDisposable
{
    private Action? _release;

    internal ModelLease(PatchClassifier classifier, string version, Action release)
    {
        Classifier = classifier;
        Version = version;
        _release = release;
    }

    public PatchClassifier Classifier { get; }

    /// <summary>The ETag of the manifest the model was loaded from: the version a run is pinned to.</summary>
    public string Version { get; }

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}

/// <summary>
/// Model bundles under a blob prefix (<c>{prefix}/manifest.json</c> and its ONNX file), downloaded once per version
/// and loaded once per process. A run is pinned to the manifest version its plan was made with: a piece asks for that
/// version, and gets it while it is loaded or still stored, or a clear failure once the bundle was replaced. When a
/// newer version of a prefix is loaded, older sessions are disposed as soon as no piece holds them, so GPU memory
/// does not grow with every model update. The downloaded copy is deleted once its session is made.
/// </summary>
public sealed class ModelCache(IBlobStore store, string folder, InferenceOptions options, Microsoft.Extensions.Logging.ILogger? logger = null) : IDisposable
{
    private readonly Dictionary<string, Entry> _loaded = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>The model at <paramref name="version"/> (a manifest ETag), or at the stored version when null.</summary>
    public async Task<ModelLease> GetAsync(string prefix, string? version = null, CancellationToken cancellationToken = default)
    {
        string manifestBlob = ManifestBlob(prefix);
        version ??= (await store.GetVersionAsync(manifestBlob, cancellationToken)
            ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, manifestBlob, "no model bundle is stored under this prefix.")).ETag;
        string key = $"{prefix}|{version}";
        Entry entry;
        lock (_gate)
        {
            if (!_loaded.TryGetValue(key, out entry!))
            {
                // Shared by every caller, so no one caller's cancellation ends it; a load that fails leaves the table,
                // so the next call tries again instead of getting the same failure until the worker restarts.
                entry = new Entry(prefix, LoadAsync(prefix, version, CancellationToken.None));
                _loaded[key] = entry;
                entry.Load.ContinueWith(load => Loaded(key, entry, load.IsCompletedSuccessfully), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            entry.Users++;
        }

        try
        {
            PatchClassifier classifier = await entry.Load.WaitAsync(cancellationToken);
            return new ModelLease(classifier, version, () => Release(key, entry));
        }
        catch
        {
            Release(key, entry);
            throw;
        }
    }

    /// <summary>The manifest at <paramref name="version"/>: the loaded model's when there is one, else the stored one, pinned to that version.</summary>
    public async Task<ModelManifest> GetManifestAsync(string prefix, string? version, string scratch, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (version is not null && _loaded.TryGetValue($"{prefix}|{version}", out Entry? entry) && entry.Load.IsCompletedSuccessfully)
            {
                return entry.Load.Result.Manifest;
            }
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

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (Entry entry in _loaded.Values.Where(e => e.Load.IsCompletedSuccessfully))
            {
                entry.Load.Result.Dispose();
            }

            _loaded.Clear();
        }
    }

    private static string ManifestBlob(string prefix) => $"{prefix.TrimEnd('/')}/{ModelBundle.ManifestFileName}";

    private void Loaded(string key, Entry entry, bool succeeded)
    {
        var retired = new List<(string Key, PatchClassifier Classifier)>();
        lock (_gate)
        {
            if (!succeeded)
            {
                if (_loaded.TryGetValue(key, out Entry? current) && current == entry)
                {
                    _loaded.Remove(key);
                }

                return;
            }

            foreach ((string other, Entry older) in _loaded.Where(p => p.Value != entry && p.Value.Prefix == entry.Prefix).ToList())
            {
                older.Retired = true;
                if (older.Users == 0)
                {
                    _loaded.Remove(other);
                    retired.Add((other, older.Load.Result));
                }
            }
        }

        Free(retired);
    }

    private void Release(string key, Entry entry)
    {
        var retired = new List<(string Key, PatchClassifier Classifier)>();
        lock (_gate)
        {
            if (--entry.Users == 0 && entry.Retired && entry.Load.IsCompletedSuccessfully)
            {
                _loaded.Remove(key);
                retired.Add((key, entry.Load.Result));
            }
        }

        Free(retired);
    }

    private void Free(List<(string Key, PatchClassifier Classifier)> retired)
    {
        foreach ((string key, PatchClassifier classifier) in retired)
        {
            Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "model {Model}: a newer version is loaded; this session is freed", key);
            classifier.Dispose();
        }
    }

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

    private async Task<PatchClassifier> LoadAsync(string prefix, string version, CancellationToken cancellationToken)
    {
        string local = Path.Combine(folder, $"{Guid.NewGuid():N}");
        string manifestBlob = ManifestBlob(prefix);
        try
        {
            Directory.CreateDirectory(local);
            string manifestPath = Path.Combine(local, ModelBundle.ManifestFileName);
            await DownloadPinnedAsync(manifestBlob, version, manifestPath, cancellationToken);
            string onnxFile = ModelManifestJson.Parse(await File.ReadAllTextAsync(manifestPath, cancellationToken), manifestBlob).Onnx.File;
            await PipelineStores.DownloadCurrentAsync(
                store, $"{prefix.TrimEnd('/')}/{onnxFile}", Path.Combine(local, onnxFile), "the model file named in the manifest is not stored.", DeepSlideErrorReason.InvalidModel, cancellationToken);
            ModelBundle bundle = ModelBundle.Load(local);
            if (bundle.IntegrityWarning is string warning)
            {
                Microsoft.Extensions.Logging.LoggerExtensions.LogWarning(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "model {Prefix}: {Warning}", prefix, warning.Replace(local, manifestBlob, StringComparison.Ordinal));
            }

            return PatchClassifier.Load(bundle, options);
        }
        finally
        {
            Directory.Delete(local, recursive: true);
        }
    }

    private sealed class Entry(string prefix, Task<PatchClassifier> load)
    {
        public string Prefix { get; } = prefix;

        public Task<PatchClassifier> Load { get; } = load;

        public int Users { get; set; }

        public bool Retired { get; set; }
    }
}
