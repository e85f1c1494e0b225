using System.Collections.Concurrent;

namespace DeepSlide.Patches;

/// <summary>
/// Exact-size buffers for patches. The shared ArrayPool keeps only a few arrays per core and size, fewer than a
/// read-ahead pipeline has in flight, so it would drop most returned patches and leave large-object garbage;
/// this pool retains up to <see cref="MaxRetainedPerSize"/> buffers of each size.
/// </summary>
internal static class PatchBufferPool
{
    public const int MaxRetainedPerSize = 512;
    private static readonly ConcurrentDictionary<int, ConcurrentQueue<byte[]>> Pools = new();

    public static byte[] Rent(int length) =>
        Pools.GetOrAdd(length, _ => new ConcurrentQueue<byte[]>()).TryDequeue(out byte[]? buffer) ? buffer : new byte[length];

    public static void Return(byte[] buffer)
    {
        ConcurrentQueue<byte[]> pool = Pools.GetOrAdd(buffer.Length, _ => new ConcurrentQueue<byte[]>());
        if (pool.Count < MaxRetainedPerSize)
        {
            pool.Enqueue(buffer);
        }
    }
}
