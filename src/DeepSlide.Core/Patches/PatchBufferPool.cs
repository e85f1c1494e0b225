using System.Collections.Concurrent;

namespace DeepSlide.Patches;

/// <summary>
/// Exact-size buffers for one stream's patches. The shared ArrayPool keeps only a few arrays per core and size,
/// fewer than a read-ahead pipeline has in flight, so it would drop most returned patches and leave large-object
/// garbage. Each stream owns its pool, so what it retains (at most what it had in flight) goes when the stream does.
/// </summary>
internal sealed class PatchBufferPool(int length)
{
    private readonly ConcurrentQueue<byte[]> _free = new();

    public byte[] Rent() => _free.TryDequeue(out byte[]? buffer) ? buffer : new byte[length];

    public void Return(byte[] buffer)
    {
        if (buffer.Length == length)
        {
            _free.Enqueue(buffer);
        }
    }
}
