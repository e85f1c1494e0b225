using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSlide.Models;

namespace DeepSlide.Inference;

/// <summary>
/// A folder with model.onnx and manifest.json. Loading validates the manifest and the file's SHA-256; a manifest that
/// records none (one written by hand or by another tool) loads with <see cref="IntegrityWarning"/> saying so and
/// giving the hash to record.
/// </summary>
public sealed class ModelBundle
{
    public const string ManifestFileName = "manifest.json";

    public static readonly JsonSerializerOptions Json = ModelManifestJson.Options;

    private ModelBundle(string folder, ModelManifest manifest, string? integrityWarning = null)
    {
        Folder = folder;
        Manifest = manifest;
        IntegrityWarning = integrityWarning;
    }

    /// <summary>Why the model file's integrity could not be checked, or null when it was.</summary>
    public string? IntegrityWarning { get; }

    public string Folder { get; }

    public ModelManifest Manifest { get; }

    public string OnnxPath => Path.Combine(Folder, Manifest.Onnx.File);

    public static ModelBundle Load(string folder)
    {
        string manifestPath = Path.Combine(folder, ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, folder, $"the model bundle has no {ManifestFileName}.");
        }

        ModelManifest manifest = ModelManifestJson.Parse(File.ReadAllText(manifestPath), manifestPath);
        string onnxPath = Path.Combine(folder, manifest.Onnx.File);
        if (!File.Exists(onnxPath))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, onnxPath, "the model file named in the manifest does not exist.");
        }

        string actual = Sha256(onnxPath);
        if (manifest.Onnx.Sha256 is not string expected)
        {
            return new ModelBundle(folder, manifest, $"{manifestPath} records no onnx.sha256, so {manifest.Onnx.File} was not checked against it; the file's SHA-256 is {actual}: add it as onnx.sha256 to have it checked.");
        }

        if (!actual.Equals(expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, onnxPath, $"the file's SHA-256 is {actual}, but the manifest says {expected}; the file was changed or corrupted.");
        }

        return new ModelBundle(folder, manifest);
    }

    /// <summary>Writes a bundle, recording the ONNX file's SHA-256 in the manifest.</summary>
    public static ModelBundle Save(string folder, ModelManifest manifest, byte[] onnx)
    {
        Directory.CreateDirectory(folder);
        string onnxPath = Path.Combine(folder, manifest.Onnx.File);
        File.WriteAllBytes(onnxPath, onnx);
        manifest = manifest with { Onnx = manifest.Onnx with { Sha256 = Convert.ToHexStringLower(SHA256.HashData(onnx)) } };
        manifest.Validate(Path.Combine(folder, ManifestFileName));
        File.WriteAllText(Path.Combine(folder, ManifestFileName), JsonSerializer.Serialize(manifest, Json));
        return new ModelBundle(folder, manifest);
    }

    /// <summary>Replaces the manifest (for example with tuned aggregation settings); the model file is untouched.</summary>
    public ModelBundle WithManifest(ModelManifest manifest)
    {
        string path = Path.Combine(Folder, ManifestFileName);
        manifest.Validate(path);
        File.WriteAllText(path, JsonSerializer.Serialize(manifest, Json));
        return new ModelBundle(Folder, manifest);
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
