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

        if (manifest.Onnx.Confirm is { } confirm)
        {
            string confirmPath = Path.Combine(folder, confirm.File);
            string confirmSha = File.Exists(confirmPath)
                ? Sha256(confirmPath)
                : throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, confirmPath, "the FP32 model file named in the manifest's onnx.confirm does not exist.");
            if (!confirmSha.Equals(confirm.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, confirmPath, $"the file's SHA-256 is {confirmSha}, but the manifest's onnx.confirm says {confirm.Sha256}; the file was changed or corrupted.");
            }
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

    /// <summary>The FP32 graph an int8 bundle carries to confirm unsure calls, as a bundle of its own; null when it has none.</summary>
    public ModelBundle? Confirmation => Manifest.Onnx.Confirm is { } confirm
        ? new ModelBundle(Folder, Manifest with { Onnx = new OnnxFile { File = confirm.File, Sha256 = confirm.Sha256 } })
        : null;

    /// <summary>
    /// Adds <paramref name="fp32"/>'s model file to this int8 bundle as the graph that classifies again the patches
    /// and slides whose int8 outputs do not clear the margins.
    /// </summary>
    public ModelBundle WithConfirmation(ModelBundle fp32, double margin, double patchMargin = ConfirmationSpec.DefaultPatchMargin)
    {
        var confirm = new ConfirmationSpec { Margin = margin, PatchMargin = patchMargin };
        File.Copy(fp32.OnnxPath, Path.Combine(Folder, confirm.File), overwrite: true);
        return WithManifest(Manifest with { Onnx = Manifest.Onnx with { Confirm = confirm with { Sha256 = Sha256(Path.Combine(Folder, confirm.File)) } } });
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
