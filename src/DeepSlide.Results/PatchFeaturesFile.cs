using System.Runtime.InteropServices;

namespace DeepSlide.Results;

/// <summary>
/// Patch features as a range stores them for the aggregate step: float32, little-endian, one row per patch, no
/// header. The row length is the file's length over the range's patch count.
/// </summary>
public static class PatchFeaturesFile
{
    public static async Task WriteAsync(ReadOnlyMemory<float> features, string path, CancellationToken cancellationToken = default)
    {
        await using FileStream file = File.Create(path);
        await file.WriteAsync(MemoryMarshal.AsBytes(features.Span).ToArray(), cancellationToken);
    }

    /// <summary>
    /// Reads <paramref name="patches"/> rows into <paramref name="into"/> from row <paramref name="firstRow"/>; fails,
    /// naming <paramref name="name"/>, when the file is not that many rows of <paramref name="rowLength"/> values.
    /// </summary>
    public static async Task ReadAsync(string path, string name, int patches, int rowLength, float[] into, int firstRow, CancellationToken cancellationToken = default)
    {
        byte[] bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        ReadOnlySpan<float> rows = MemoryMarshal.Cast<byte, float>(bytes);
        if (bytes.Length % sizeof(float) != 0 || rows.Length != (long)patches * rowLength)
        {
            throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, name, $"the features hold {bytes.Length} bytes, which is not {patches} patches of {rowLength} float32 values.");
        }

        rows.CopyTo(into.AsSpan(firstRow * rowLength));
    }
}
