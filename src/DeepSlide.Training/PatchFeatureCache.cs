namespace DeepSlide.Training;

/// <summary>One row of cached backbone features: a patch file (relative to the patch root), its view and its label.</summary>
public sealed record PatchFeatureRow(string File, bool Val, int View, int Label);

/// <summary>
/// The backbone features of every training and validation view, as <c>train</c> computed them, kept in the bundle
/// (<c>patch-features.bin</c>) so <c>refine</c> can relabel patches and retrain the head without running the backbone.
/// </summary>
public sealed class PatchFeatureCache(IReadOnlyList<PatchFeatureRow> rows, float[] features, int dimension)
{
    public const string FileName = "patch-features.bin";
    private const string Magic = "DSPF1";

    public IReadOnlyList<PatchFeatureRow> Rows { get; } = rows;

    public float[] Features { get; } = features;

    public int Dimension { get; } = dimension;

    public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * Dimension, Dimension);

    public void Write(string bundleFolder)
    {
        string path = Path.Combine(bundleFolder, FileName);
        using (var writer = new BinaryWriter(File.Create(path + ".partial")))
        {
            writer.Write(Magic);
            writer.Write(Dimension);
            writer.Write(Rows.Count);
            foreach (PatchFeatureRow row in Rows)
            {
                writer.Write(row.File);
                writer.Write(row.Val);
                writer.Write(row.View);
                writer.Write(row.Label);
            }

            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Features.AsSpan()));
        }

        File.Move(path + ".partial", path, overwrite: true);
    }

    public static PatchFeatureCache Read(string bundleFolder)
    {
        string path = Path.Combine(bundleFolder, FileName);
        if (!File.Exists(path))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, path, "the bundle has no cached patch features; train it again with 'deepslide train' (this version keeps them for 'refine').");
        }

        try
        {
            using var reader = new BinaryReader(File.OpenRead(path));
            if (reader.ReadString() != Magic)
            {
                throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, "not a patch feature cache written by 'deepslide train'.");
            }

            int dimension = reader.ReadInt32(), count = reader.ReadInt32();
            var rows = new List<PatchFeatureRow>(count);
            for (int i = 0; i < count; i++)
            {
                rows.Add(new PatchFeatureRow(reader.ReadString(), reader.ReadBoolean(), reader.ReadInt32(), reader.ReadInt32()));
            }

            var features = new float[(long)count * dimension];
            reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(features.AsSpan()));
            return new PatchFeatureCache(rows, features, dimension);
        }
        catch (EndOfStreamException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, "the patch feature cache is truncated.", ex);
        }
    }
}
