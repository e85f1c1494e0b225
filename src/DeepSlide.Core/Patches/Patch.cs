using DeepSlide.Tiling;

namespace DeepSlide.Patches;

/// <summary>
/// The pixels of one tile, <see cref="Size"/> x <see cref="Size"/> interleaved RGB. The buffer is pooled:
/// dispose the patch when done with it (a patch that is not disposed is simply collected).
/// </summary>
public sealed class Patch : IDisposable
{
    private readonly PatchBufferPool _pool;
    private byte[]? _buffer;

    internal Patch(Tile tile, int size, PatchBufferPool pool)
    {
        Tile = tile;
        Size = size;
        _pool = pool;
        _buffer = pool.Rent();
    }

    public Tile Tile { get; }

    public int Size { get; }

    public int ByteCount => Size * Size * 3;

    public Span<byte> Pixels => _buffer ?? throw new ObjectDisposedException(nameof(Patch));

    public ReadOnlyMemory<byte> Memory => _buffer ?? throw new ObjectDisposedException(nameof(Patch));

    public Imaging.RgbImage ToImage()
    {
        var image = new Imaging.RgbImage(Size, Size);
        Pixels.CopyTo(image.Pixels);
        return image;
    }

    public void Dispose()
    {
        byte[]? buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            _pool.Return(buffer);
        }
    }
}
