using System.Security.Cryptography;
using System.Text;
using DeepSlide.Aggregation;
using DeepSlide.Learning;
using DeepSlide.Slides;

using DeepSlide.Inference;

namespace DeepSlide.Training;

/// <summary>
/// Slide feature bags on disk: the backbone features of a slide's tissue patches, keyed by the slide file, the
/// model and its tiling, so attention-MIL training never runs the backbone twice for the same slide.
/// </summary>
public sealed class FeatureBagCache(string folder, ModelBundle bundle)
{
    private const string Magic = "DSBAG1";

    public string Folder { get; } = folder;

    public int Hits { get; private set; }

    public int Misses { get; private set; }

    public async Task<FeatureBag> GetAsync(string slidePath, int label, PatchClassifier classifier, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Folder);
        string path = Path.Combine(Folder, $"{Path.GetFileNameWithoutExtension(slidePath)}-{Key(slidePath)}.bag");
        string backbone = Backbone;
        if (File.Exists(path))
        {
            Hits++;
            return Read(path, label, backbone);
        }

        Misses++;
        using ISlideReader reader = SlideReader.Open(slidePath);
        SlideResult result = await SlideClassifier.ClassifyAsync(reader, classifier, [], collectFeatures: true, cancellationToken: cancellationToken);
        float[] features = result.Patches.Features ?? [];
        string partial = path + ".partial";
        using (var writer = new BinaryWriter(File.Create(partial)))
        {
            writer.Write(Magic);
            writer.Write(backbone);
            writer.Write(result.Patches.Count);
            writer.Write(result.Patches.FeatureCount);
            foreach (float f in features)
            {
                writer.Write(f);
            }
        }

        File.Move(partial, path, overwrite: true);
        return new FeatureBag(Path.GetFileNameWithoutExtension(slidePath), features, result.Patches.Count, label);
    }

    /// <summary>The backbone the bags come from: the model's name and the ONNX file's SHA-256.</summary>
    public string Backbone => $"{bundle.Manifest.Training?.Backbone ?? "custom"}@{bundle.Manifest.Onnx.Sha256}";

    public static FeatureBag Read(string path, int label, string expectedBackbone)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        if (reader.ReadString() != Magic)
        {
            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, "not a feature bag written by this program.");
        }

        string backbone = reader.ReadString();
        if (backbone != expectedBackbone)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, path, $"the bag holds features of backbone '{backbone}', but the bundle's is '{expectedBackbone}'.");
        }

        int n = reader.ReadInt32(), d = reader.ReadInt32();
        var features = new float[n * d];
        for (int i = 0; i < features.Length; i++)
        {
            features[i] = reader.ReadSingle();
        }

        return new FeatureBag(Path.GetFileNameWithoutExtension(path), features, n, label);
    }

    private string Key(string slidePath)
    {
        var file = new FileInfo(slidePath);
        var patch = bundle.Manifest.Patch;
        string identity = $"{file.FullName}|{file.Length}|{file.LastWriteTimeUtc.Ticks}|{bundle.Manifest.Onnx.Sha256}|{patch.Window}|{patch.Resolution}|{patch.Tissue}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16];
    }
}
