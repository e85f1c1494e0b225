using System.Buffers.Binary;
using System.IO.Compression;

namespace DeepSlide.Tests.Shared;

/// <summary>
/// Small valid TIFFs built byte by byte, for inputs no scanner would write: a deflate-tiled RGB image of any declared
/// size whose tiles all share one compressed tile, so a 1,000,000 x 1,000,000 px slide is about half a megabyte.
/// </summary>
internal static class TiffBuilder
{
    /// <summary>An RGB image in deflate-compressed strips of <paramref name="rowsPerStrip"/> rows, as a scanner's strip TIFF lays it out.</summary>
    public static byte[] Stripped(byte[] rgb, int width, int height, int rowsPerStrip)
    {
        int strips = (height + rowsPerStrip - 1) / rowsPerStrip;
        using var file = new MemoryStream();
        var w = new BinaryWriter(file);
        w.Write("II*\0"u8);
        w.Write(0u);
        var offsets = new uint[strips];
        var counts = new uint[strips];
        for (int s = 0; s < strips; s++)
        {
            int rows = Math.Min(rowsPerStrip, height - (s * rowsPerStrip));
            using var compressed = new MemoryStream();
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                zlib.Write(rgb, s * rowsPerStrip * width * 3, rows * width * 3);
            }

            offsets[s] = (uint)file.Position;
            counts[s] = (uint)compressed.Length;
            w.Write(compressed.ToArray());
        }

        uint offsetsAt = (uint)file.Position;
        foreach (uint o in offsets)
        {
            w.Write(o);
        }

        uint countsAt = (uint)file.Position;
        foreach (uint c in counts)
        {
            w.Write(c);
        }

        uint bitsAt = (uint)file.Position;
        w.Write((ushort)8);
        w.Write((ushort)8);
        w.Write((ushort)8);
        uint directoryAt = (uint)file.Position;
        (ushort Tag, ushort Type, uint Count, uint Value)[] entries =
        [
            (256, 4, 1, (uint)width),
            (257, 4, 1, (uint)height),
            (258, 3, 3, bitsAt),
            (259, 3, 1, 8),
            (262, 3, 1, 2),
            (273, 4, (uint)strips, strips == 1 ? offsets[0] : offsetsAt),
            (277, 3, 1, 3),
            (278, 4, 1, (uint)rowsPerStrip),
            (279, 4, (uint)strips, strips == 1 ? counts[0] : countsAt),
            (284, 3, 1, 1),
        ];
        WriteDirectory(w, entries);
        file.Position = 4;
        w.Write(directoryAt);
        return file.ToArray();
    }

    public static byte[] Tiled(long width, long height, int tile = 4096, byte r = 230, byte g = 200, byte b = 220)
    {
        byte[] pixels = new byte[tile * tile * 3];
        for (int i = 0; i < pixels.Length; i += 3)
        {
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (r, g, b);
        }

        byte[] data;
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                zlib.Write(pixels);
            }

            data = compressed.ToArray();
        }

        long across = (width + tile - 1) / tile, down = (height + tile - 1) / tile;
        int tiles = checked((int)(across * down));
        using var file = new MemoryStream();
        var w = new BinaryWriter(file);
        w.Write("II*\0"u8);
        w.Write(0u);
        uint dataAt = (uint)file.Position;
        w.Write(data);
        if (file.Position % 2 == 1)
        {
            w.Write((byte)0);
        }

        uint offsetsAt = (uint)file.Position;
        for (int i = 0; i < tiles; i++)
        {
            w.Write(dataAt);
        }

        uint countsAt = (uint)file.Position;
        for (int i = 0; i < tiles; i++)
        {
            w.Write((uint)data.Length);
        }

        uint bitsAt = (uint)file.Position;
        w.Write((ushort)8);
        w.Write((ushort)8);
        w.Write((ushort)8);
        uint directoryAt = (uint)file.Position;
        (ushort Tag, ushort Type, uint Count, uint Value)[] entries =
        [
            (256, 4, 1, checked((uint)width)),
            (257, 4, 1, checked((uint)height)),
            (258, 3, 3, bitsAt),
            (259, 3, 1, 8),
            (262, 3, 1, 2),
            (277, 3, 1, 3),
            (284, 3, 1, 1),
            (322, 3, 1, (uint)tile),
            (323, 3, 1, (uint)tile),
            (324, 4, (uint)tiles, tiles == 1 ? dataAt : offsetsAt),
            (325, 4, (uint)tiles, tiles == 1 ? (uint)data.Length : countsAt),
        ];
        WriteDirectory(w, entries);
        w.Flush();
        byte[] bytes = file.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), directoryAt);
        return bytes;
    }

    private static void WriteDirectory(BinaryWriter w, (ushort Tag, ushort Type, uint Count, uint Value)[] entries)
    {
        w.Write((ushort)entries.Length);
        foreach ((ushort tag, ushort type, uint count, uint value) in entries)
        {
            w.Write(tag);
            w.Write(type);
            w.Write(count);
            if (type == 3 && count == 1)
            {
                w.Write((ushort)value);
                w.Write((ushort)0);
            }
            else
            {
                w.Write(value);
            }
        }

        w.Write(0u);
    }
}
