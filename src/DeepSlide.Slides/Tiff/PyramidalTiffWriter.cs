using System.Runtime.InteropServices;
using System.Text;
using DeepSlide.Imaging;
using SkiaSharp;

namespace DeepSlide.Slides.Tiff;

/// <summary>Renders a <paramref name="width"/> x <paramref name="height"/> RGB region at a downsample; x and y are in that level's pixels.</summary>
public delegate void RegionRenderer(int downsample, long x, long y, int width, int height, Span<byte> rgb);

public sealed record PyramidalTiffOptions
{
    public int TileSize { get; init; } = 256;

    public int JpegQuality { get; init; } = 85;

    /// <summary>Downsample of each level relative to level 0, starting with 1.</summary>
    public IReadOnlyList<int> Downsamples { get; init; } = [1, 4, 16, 64];

    /// <summary>The first directory's ImageDescription (an Aperio header makes OpenSlide read the file as Aperio).</summary>
    public string? ImageDescription { get; init; }

    /// <summary>Microns per pixel at level 0, written as the resolution tags.</summary>
    public double? Mpp { get; init; }

    /// <summary>
    /// Untiled images written after the levels, each with the description "{AssociatedImagePrefix}\n{name} WxH",
    /// which is how Aperio files name their label and macro images.
    /// </summary>
    public IReadOnlyList<(string Name, RgbImage Image)> AssociatedImages { get; init; } = [];

    public string AssociatedImagePrefix { get; init; } = "Aperio Image Library v12.0.15";
}

/// <summary>
/// Writes a tiled, JPEG-compressed (YCbCr 4:2:0), pyramidal classic TIFF, one directory per level, rendering
/// tile by tile so memory stays bounded by a row of tiles. Uniform tiles are stored once and shared.
/// </summary>
public static class PyramidalTiffWriter
{
    private const ushort Short = 3, Long = 4, Ascii = 2, Rational = 5;

    public static void Write(string path, long width, long height, RegionRenderer render, PyramidalTiffOptions? options = null)
    {
        options ??= new PyramidalTiffOptions();
        if (options.Downsamples.Count == 0 || options.Downsamples[0] != 1)
        {
            throw new ArgumentException("The first level must have downsample 1.", nameof(options));
        }

        int tile = options.TileSize;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20);
        using var writer = new BinaryWriter(stream);
        writer.Write("II"u8);
        writer.Write((ushort)42);
        writer.Write(0u);
        var levels = new List<(long Width, long Height, uint[] Offsets, uint[] Counts)>();
        var shared = new Dictionary<uint, (uint Offset, uint Count)>();
        foreach (int downsample in options.Downsamples)
        {
            long lw = (width + downsample - 1) / downsample, lh = (height + downsample - 1) / downsample;
            if (lw < 1 || lh < 1)
            {
                break;
            }

            int across = (int)((lw + tile - 1) / tile), down = (int)((lh + tile - 1) / tile);
            var offsets = new uint[across * down];
            var counts = new uint[across * down];
            var encoded = new (byte[]? Data, uint? Uniform)[across];
            for (int ty = 0; ty < down; ty++)
            {
                Parallel.For(0, across, tx => encoded[tx] = EncodeTile(render, downsample, tx, ty, lw, lh, tile, options.JpegQuality));
                for (int tx = 0; tx < across; tx++)
                {
                    (byte[]? data, uint? uniform) = encoded[tx];
                    int index = ty * across + tx;
                    if (uniform is uint colour && shared.TryGetValue(colour, out var known))
                    {
                        (offsets[index], counts[index]) = known;
                        continue;
                    }

                    offsets[index] = Position(stream);
                    counts[index] = (uint)data!.Length;
                    writer.Write(data);
                    if (uniform is uint c)
                    {
                        shared[c] = (offsets[index], counts[index]);
                    }
                }
            }

            levels.Add((lw, lh, offsets, counts));
        }

        long nextPointer = 4;
        for (int l = 0; l < levels.Count; l++)
        {
            (long lw, long lh, uint[] offsets, uint[] counts) = levels[l];
            Align(writer);
            uint bitsAt = Position(stream);
            writer.Write((ushort)8);
            writer.Write((ushort)8);
            writer.Write((ushort)8);
            Align(writer);
            uint resolutionAt = Position(stream);
            // Pixels per centimetre, as a rational with a large denominator to keep the mpp exact enough.
            double perCm = options.Mpp is double mpp ? 10_000 / mpp : 0;
            double levelPerCm = perCm / options.Downsamples[l];
            writer.Write((uint)Math.Round(levelPerCm * 1000));
            writer.Write(1000u);
            uint offsetsAt = Position(stream);
            foreach (uint o in offsets)
            {
                writer.Write(o);
            }

            uint countsAt = Position(stream);
            foreach (uint c in counts)
            {
                writer.Write(c);
            }

            byte[] description = Encoding.ASCII.GetBytes(((l == 0 ? options.ImageDescription : null) ?? string.Empty) + "\0");

            uint descriptionAt = Position(stream);
            writer.Write(description);
            Align(writer);
            var entries = new List<(ushort Tag, ushort Type, uint Count, uint Value)>
            {
                (254, Long, 1, l == 0 ? 0u : 1u),
                (256, Long, 1, (uint)lw),
                (257, Long, 1, (uint)lh),
                (258, Short, 3, bitsAt),
                (259, Short, 1, 7),
                (262, Short, 1, 6),
            };
            if (description.Length > 1)
            {
                entries.Add((270, Ascii, (uint)description.Length, descriptionAt));
            }

            entries.Add((277, Short, 1, 3));
            if (options.Mpp is not null)
            {
                entries.Add((282, Rational, 1, resolutionAt));
                entries.Add((283, Rational, 1, resolutionAt));
            }

            entries.Add((284, Short, 1, 1));
            if (options.Mpp is not null)
            {
                entries.Add((296, Short, 1, 3));
            }

            entries.Add((322, Long, 1, (uint)tile));
            entries.Add((323, Long, 1, (uint)tile));
            entries.Add((324, Long, (uint)offsets.Length, offsets.Length == 1 ? offsets[0] : offsetsAt));
            entries.Add((325, Long, (uint)counts.Length, counts.Length == 1 ? counts[0] : countsAt));
            entries.Add((530, Short, 2, 2u | (2u << 16)));

            nextPointer = WriteDirectory(writer, entries, nextPointer);
        }

        foreach ((string name, RgbImage image) in options.AssociatedImages)
        {
            nextPointer = WriteStripped(writer, image, $"{options.AssociatedImagePrefix}\n{name} {image.Width}x{image.Height}", nextPointer);
        }
    }

    // Writes one uncompressed RGB strip and its directory; returns where the next directory's offset goes.
    private static long WriteStripped(BinaryWriter writer, RgbImage image, string description, long nextPointer)
    {
        Stream stream = writer.BaseStream;
        Align(writer);
        uint dataAt = Position(stream);
        writer.Write(image.Pixels, 0, image.Width * image.Height * 3);
        Align(writer);
        uint bitsAt = Position(stream);
        writer.Write((ushort)8);
        writer.Write((ushort)8);
        writer.Write((ushort)8);
        byte[] text = Encoding.ASCII.GetBytes(description + "\0");
        uint textAt = Position(stream);
        writer.Write(text);
        Align(writer);
        (ushort Tag, ushort Type, uint Count, uint Value)[] entries =
        [
            (254, Long, 1, 1),
            (256, Long, 1, (uint)image.Width),
            (257, Long, 1, (uint)image.Height),
            (258, Short, 3, bitsAt),
            (259, Short, 1, 1),
            (262, Short, 1, 2),
            (270, Ascii, (uint)text.Length, textAt),
            (273, Long, 1, dataAt),
            (277, Short, 1, 3),
            (278, Long, 1, (uint)image.Height),
            (279, Long, 1, (uint)(image.Width * image.Height * 3)),
            (284, Short, 1, 1),
        ];
        return WriteDirectory(writer, entries, nextPointer);
    }

    // Writes a directory (entries sorted by tag), points the previous "next directory" offset at it, and
    // returns where this directory's own "next" offset lies.
    private static long WriteDirectory(BinaryWriter writer, IReadOnlyList<(ushort Tag, ushort Type, uint Count, uint Value)> entries, long nextPointer)
    {
        Stream stream = writer.BaseStream;
        uint ifdAt = Position(stream);
        writer.Write((ushort)entries.Count);
        foreach ((ushort tag, ushort type, uint count, uint value) in entries)
        {
            writer.Write(tag);
            writer.Write(type);
            writer.Write(count);
            writer.Write(value);
        }

        long next = stream.Position;
        writer.Write(0u);
        stream.Position = nextPointer;
        writer.Write(ifdAt);
        stream.Position = stream.Length;
        return next;
    }

    private static (byte[]? Data, uint? Uniform) EncodeTile(RegionRenderer render, int downsample, int tx, int ty, long lw, long lh, int tile, int quality)
    {
        int w = (int)Math.Min(tile, lw - (long)tx * tile), h = (int)Math.Min(tile, lh - (long)ty * tile);
        var rgb = new byte[w * h * 3];
        render(downsample, (long)tx * tile, (long)ty * tile, w, h, rgb);
        uint first = (uint)(rgb[0] << 16 | rgb[1] << 8 | rgb[2]);
        bool uniform = w == tile && h == tile;
        for (int i = 3; uniform && i < rgb.Length; i += 3)
        {
            uniform = rgb[i] == rgb[0] && rgb[i + 1] == rgb[1] && rgb[i + 2] == rgb[2];
        }

        // Edge tiles are padded by repeating the last pixel, so JPEG spends nothing on a hard edge.
        var rgbx = new byte[tile * tile * 4];
        for (int y = 0; y < tile; y++)
        {
            int sy = Math.Min(y, h - 1);
            for (int x = 0; x < tile; x++)
            {
                int s = (sy * w + Math.Min(x, w - 1)) * 3, d = (y * tile + x) * 4;
                rgbx[d] = rgb[s];
                rgbx[d + 1] = rgb[s + 1];
                rgbx[d + 2] = rgb[s + 2];
                rgbx[d + 3] = 255;
            }
        }

        var info = new SKImageInfo(tile, tile, SKColorType.Rgba8888, SKAlphaType.Opaque);
        GCHandle pin = GCHandle.Alloc(rgbx, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, pin.AddrOfPinnedObject(), tile * 4);
            using SKData data = pixmap.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore))
                ?? throw new InvalidOperationException("Skia could not encode a JPEG tile.");
            return (data.ToArray(), uniform ? first : null);
        }
        finally
        {
            pin.Free();
        }
    }

    private static void Align(BinaryWriter writer)
    {
        if (writer.BaseStream.Position % 2 != 0)
        {
            writer.Write((byte)0);
        }
    }

    private static uint Position(Stream stream) =>
        stream.Position <= uint.MaxValue
            ? (uint)stream.Position
            : throw new InvalidOperationException("The slide would exceed 4 GiB, the limit of a classic TIFF.");
}
