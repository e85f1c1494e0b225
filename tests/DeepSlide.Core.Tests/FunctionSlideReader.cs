using DeepSlide.Imaging;
using DeepSlide.Slides;

namespace DeepSlide.Core.Tests;

/// <summary>
/// A slide whose level-0 pixel (x, y) is a known function of its coordinates, so every read can be checked exactly.
/// Coarser levels are point samples of level 0. Counts reads so tests can see how regions were read.
/// </summary>
internal sealed class FunctionSlideReader : ISlideReader
{
    private int _reads;

    public FunctionSlideReader(long width, long height, double[]? downsamples = null, double? mpp = null, double? power = null)
    {
        downsamples ??= [1];
        Info = new SlideInfo
        {
            Path = "/slides/function.tif",
            Vendor = "test",
            Levels = downsamples.Select((d, i) => new SlideLevel(i, (long)Math.Ceiling(width / d), (long)Math.Ceiling(height / d), d)).ToList(),
            MppX = mpp,
            MppY = mpp,
            ObjectivePower = power,
        };
    }

    public SlideInfo Info { get; }

    public int Reads => _reads;

    public Func<long, long, (byte R, byte G, byte B)> Pixel { get; init; } = (x, y) => ((byte)(x % 251), (byte)(y % 241), (byte)((x + y) % 239));

    /// <summary>Reads under way at this moment: a stream that has stopped must have none.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    private int _inFlight;

    public void ReadRegion(int level, long x, long y, int width, int height, Span<byte> rgb)
    {
        Interlocked.Increment(ref _reads);
        Interlocked.Increment(ref _inFlight);
        try
        {
            Read(level, x, y, width, height, rgb);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void Read(int level, long x, long y, int width, int height, Span<byte> rgb)
    {
        if (ReadDelay > TimeSpan.Zero)
        {
            Thread.Sleep(ReadDelay + TimeSpan.FromMilliseconds((x * 7 + y) % 5));
        }

        double d = Info.Levels[level].Downsample;
        for (int j = 0; j < height; j++)
        {
            for (int i = 0; i < width; i++)
            {
                long x0 = x + (long)(i * d), y0 = y + (long)(j * d);
                (byte r, byte g, byte b) = x0 < 0 || y0 < 0 || x0 >= Info.Width || y0 >= Info.Height ? ((byte)255, (byte)255, (byte)255) : Pixel(x0, y0);
                int k = (j * width + i) * 3;
                rgb[k] = r;
                rgb[k + 1] = g;
                rgb[k + 2] = b;
            }
        }
    }

    public RgbImage ReadAssociatedImage(string name) => throw new NotSupportedException();

    /// <summary>When set, <see cref="OpenAnother"/> opens a separate handle that reads as this one does.</summary>
    public bool OpensHandles { get; init; }

    /// <summary>Handles opened by <see cref="OpenAnother"/>, with the reads each made and whether it was disposed.</summary>
    public List<FunctionSlideReader> Opened { get; } = [];

    public bool Disposed { get; private set; }

    /// <summary>Each read sleeps this long, so readers overlap and a wrong order would show.</summary>
    public TimeSpan ReadDelay { get; init; }

    public ISlideReader? OpenAnother()
    {
        if (!OpensHandles)
        {
            return null;
        }

        var other = new FunctionSlideReader(Info.Width, Info.Height) { Pixel = Pixel, ReadDelay = ReadDelay };
        lock (Opened)
        {
            Opened.Add(other);
        }

        return other;
    }

    public void Dispose() => Disposed = true;
}
