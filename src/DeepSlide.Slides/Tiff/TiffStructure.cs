using System.Buffers.Binary;

namespace DeepSlide.Slides.Tiff;

/// <summary>One image file directory, with the tags this program uses.</summary>
public sealed record TiffDirectory(
    long Width,
    long Height,
    bool IsTiled,
    int Compression,
    int Photometric,
    int SamplesPerPixel,
    int BitsPerSample,
    int PlanarConfiguration,
    long RowsPerStrip,
    int Predictor,
    long[] DataOffsets,
    long[] DataByteCounts,
    double? XResolution,
    int ResolutionUnit)
{
    /// <summary>Tile size (the image's width and rows per strip when it is in strips).</summary>
    public long TileWidth { get; init; }

    public long TileHeight { get; init; }

    /// <summary>Hamamatsu NDPI's format flag (tag 65420) is present.</summary>
    public bool IsNdpi { get; init; }
}

/// <summary>
/// The directory chain of a TIFF (classic or BigTIFF), checked for the damage that truncation or corruption
/// leaves: offsets past the end of the file, loops, missing sizes. Reads only directories, never pixel data.
/// </summary>
public sealed class TiffStructure
{
    /// <summary>The largest tile read: 4096 x 4096 px (scanners write 240 to 1,024 px tiles).</summary>
    public const long MaxTilePixels = 1L << 24;

    private TiffStructure(IReadOnlyList<TiffDirectory> directories) => Directories = directories;

    public IReadOnlyList<TiffDirectory> Directories { get; }

    public TiffDirectory FirstDirectory => Directories[0];

    public static TiffStructure Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>
    /// Reads the directories from a seekable stream. With <paramref name="readEveryTag"/>, the values of every tag are
    /// read too, not only the ones this program uses: a stream that fetches what it is asked for then holds all that
    /// a TIFF library reads when it opens the file.
    /// </summary>
    public static TiffStructure Read(Stream stream, string path, bool readEveryTag = false)
    {
        long length = stream.Length;
        stream.Position = 0;
        var reader = new Reader(stream, path);
        Span<byte> header = stackalloc byte[16];
        if (stream.ReadAtLeast(header, 8, throwOnEndOfStream: false) < 8)
        {
            throw Corrupt(path, "the TIFF header is truncated.");
        }

        reader.LittleEndian = header[0] == (byte)'I';
        int version = reader.U16(header[2..]);
        bool big = version == 43;
        if (version != 42 && !big)
        {
            throw Corrupt(path, $"the TIFF header has version {version}, neither 42 (TIFF) nor 43 (BigTIFF).");
        }

        long next = big ? reader.At(8, 8) : reader.U32(header[4..]);
        var directories = new List<TiffDirectory>();
        var seen = new HashSet<long>();
        while (next != 0)
        {
            if (next < 8 || next >= length)
            {
                throw Corrupt(path, $"directory {directories.Count} starts at byte {next}, past the end of the file ({length} bytes); the file is truncated.");
            }

            if (!seen.Add(next) || directories.Count > 10_000)
            {
                throw Corrupt(path, "the TIFF directory chain loops.");
            }

            directories.Add(ReadDirectory(reader, next, big, length, directories.Count, readEveryTag, out next));
        }

        if (directories.Count == 0)
        {
            throw Corrupt(path, "the TIFF has no image directory.");
        }

        return new TiffStructure(directories);
    }

    private static TiffDirectory ReadDirectory(Reader r, long at, bool big, long length, int index, bool readEveryTag, out long next)
    {
        long count = big ? r.At(at, 8) : r.At(at, 2);
        int entrySize = big ? 20 : 12;
        long entriesAt = at + (big ? 8 : 2);
        if (entriesAt + count * entrySize + (big ? 8 : 4) > length)
        {
            throw Corrupt(r.Path, $"directory {index} extends past the end of the file; the file is truncated.");
        }

        var tags = new Dictionary<int, long[]>();
        bool ndpi = false;
        for (long e = 0; e < count; e++)
        {
            long p = entriesAt + e * entrySize;
            int tag = (int)r.At(p, 2);
            int type = (int)r.At(p + 2, 2);
            long n = big ? r.At(p + 4, 8) : r.At(p + 4, 4);
            int size = type switch { 1 or 2 or 6 or 7 => 1, 3 or 8 => 2, 4 or 9 or 11 or 13 => 4, 5 or 10 or 12 or 16 or 17 or 18 => 8, _ => 0 };
            ndpi |= tag == 65420;
            bool used = tag is 256 or 257 or 258 or 259 or 262 or 273 or 277 or 278 or 279 or 282 or 284 or 296 or 317 or 322 or 323 or 324 or 325;
            if (size == 0 || n <= 0 || !(used || readEveryTag))
            {
                continue;
            }

            long bytes = n * size;
            long valueAt = bytes <= (big ? 8 : 4) ? p + (big ? 12 : 8) : (big ? r.At(p + 12, 8) : r.At(p + 8, 4));
            if (valueAt + bytes > length)
            {
                throw Corrupt(r.Path, $"directory {index}, tag {tag}: its values lie past the end of the file; the file is truncated.");
            }

            if (!used)
            {
                r.Touch(valueAt, bytes);
                continue;
            }

            bool rational = type is 5 or 10;
            var values = new long[rational ? 2 * n : n];
            for (long k = 0; k < values.Length; k++)
            {
                int itemSize = rational ? 4 : size;
                values[k] = r.At(valueAt + k * itemSize, itemSize);
            }

            tags[tag] = values;
        }

        next = big ? r.At(entriesAt + count * entrySize, 8) : r.At(entriesAt + count * entrySize, 4);
        long One(int tag, long fallback) => tags.TryGetValue(tag, out long[]? v) ? v[0] : fallback;
        bool tiled = tags.ContainsKey(322);
        long[] offsets = tags.GetValueOrDefault(tiled ? 324 : 273) ?? [];
        long[] counts = tags.GetValueOrDefault(tiled ? 325 : 279) ?? [];
        long width = One(256, 0), height = One(257, 0);
        if (width <= 0 || height <= 0)
        {
            throw Corrupt(r.Path, $"directory {index} has no image size.");
        }

        if (offsets.Length == 0 || offsets.Length != counts.Length)
        {
            throw Corrupt(r.Path, $"directory {index} does not say where its image data is.");
        }

        if (tiled)
        {
            // OpenSlide allocates a whole tile per read and aborts the process when it cannot: refuse tiles no
            // scanner writes before it sees them, and a tile table too short for the image.
            long tileWidth = One(322, 0), tileHeight = One(323, 0);
            if (tileWidth <= 0 || tileHeight <= 0 || tileWidth * tileHeight > MaxTilePixels)
            {
                throw Corrupt(r.Path, $"directory {index} has {tileWidth} x {tileHeight} px tiles; tiles of 1 to {MaxTilePixels:N0} px are read.");
            }

            long across = (width + tileWidth - 1) / tileWidth, down = (height + tileHeight - 1) / tileHeight;
            if (across * down > offsets.Length)
            {
                throw Corrupt(r.Path, $"directory {index} lists {offsets.Length} tiles, but a {width} x {height} px image of {tileWidth} x {tileHeight} px tiles has {across * down}.");
            }
        }

        for (int k = 0; k < offsets.Length; k++)
        {
            if (offsets[k] + counts[k] > length)
            {
                throw Corrupt(
                    r.Path,
                    $"directory {index}: {(tiled ? "tile" : "strip")} {k} lies at bytes {offsets[k]}..{offsets[k] + counts[k]}, past the end of the file ({length} bytes); the file is truncated.");
            }
        }

        double? xResolution = tags.TryGetValue(282, out long[]? res) && res.Length >= 2 && res[1] != 0 ? res[0] / (double)res[1] : null;
        var directory = new TiffDirectory(
            width,
            height,
            tiled,
            (int)One(259, 1),
            (int)One(262, 2),
            (int)One(277, 1),
            (int)One(258, 1),
            (int)One(284, 1),
            One(278, height),
            (int)One(317, 1),
            offsets,
            counts,
            xResolution,
            (int)One(296, 2));
        return directory with
        {
            TileWidth = tiled ? One(322, 0) : width,
            TileHeight = tiled ? One(323, 0) : One(278, height),
            IsNdpi = ndpi,
        };
    }

    private static DeepSlideException Corrupt(string path, string message) => new(DeepSlideErrorReason.CorruptFile, path, message);

    private sealed class Reader(Stream stream, string path)
    {
        private readonly byte[] _buffer = new byte[8];

        public bool LittleEndian { get; set; }

        public string Path => path;

        public int U16(ReadOnlySpan<byte> b) => LittleEndian ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b);

        public uint U32(ReadOnlySpan<byte> b) => LittleEndian ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b);

        public void Touch(long offset, long count)
        {
            var chunk = new byte[(int)Math.Min(count, 1 << 16)];
            stream.Position = offset;
            for (long left = count; left > 0; left -= chunk.Length)
            {
                stream.ReadExactly(chunk.AsSpan(0, (int)Math.Min(left, chunk.Length)));
            }
        }

        public long At(long offset, int size)
        {
            stream.Position = offset;
            if (stream.ReadAtLeast(_buffer.AsSpan(0, size), size, throwOnEndOfStream: false) < size)
            {
                throw Corrupt(path, $"the TIFF structure at byte {offset} is truncated.");
            }

            ReadOnlySpan<byte> b = _buffer.AsSpan(0, size);
            return size switch
            {
                1 => b[0],
                2 => U16(b),
                4 => U32(b),
                _ => (long)(LittleEndian ? BinaryPrimitives.ReadUInt64LittleEndian(b) : BinaryPrimitives.ReadUInt64BigEndian(b)),
            };
        }
    }
}
