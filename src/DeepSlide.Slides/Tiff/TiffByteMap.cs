using System.Buffers.Binary;

namespace DeepSlide.Slides.Tiff;

/// <summary>Where one directory's image data lies: its size, tiling, and the byte range of each tile or strip.</summary>
public sealed record TiffDataLayout(int Index, long Width, long Height, bool IsTiled, long TileWidth, long TileHeight, long[] Offsets, long[] ByteCounts)
{
    public long TilesAcross => IsTiled ? (Width + TileWidth - 1) / TileWidth : 1;

    /// <summary>The byte ranges of the tiles that cover the pixels [x0, x1) x [y0, y1) of this directory.</summary>
    public IEnumerable<(long Offset, long Length)> TilesCovering(long x0, long y0, long x1, long y1)
    {
        long c0 = Math.Max(0, x0 / TileWidth), r0 = Math.Max(0, y0 / TileHeight);
        long c1 = Math.Min(TilesAcross - 1, (x1 - 1) / TileWidth), r1 = Math.Min(((Height + TileHeight - 1) / TileHeight) - 1, (y1 - 1) / TileHeight);
        for (long r = r0; r <= r1; r++)
        {
            for (long c = c0; c <= c1; c++)
            {
                long k = (r * TilesAcross) + c;
                if (k < Offsets.Length && ByteCounts[k] > 0)
                {
                    yield return (Offsets[k], ByteCounts[k]);
                }
            }
        }
    }

    public IEnumerable<(long Offset, long Length)> All() => Offsets.Zip(ByteCounts).Where(p => p.Second > 0);
}

/// <summary>
/// A TIFF's (classic or BigTIFF) directories as a reader of byte ranges needs them: reading the map touches every
/// byte of structure a TIFF library reads when it opens the file (the header, every directory, every tag value stored
/// outside its directory, JPEG tables included), and says where each directory's tiles or strips lie, so the bytes
/// of just the tiles a region needs can be fetched. <see cref="Unmappable"/> says why a file cannot be read that
/// way (NDPI's restart-marker strips, a strip-organised image), and the caller reads it whole.
/// </summary>
public sealed class TiffByteMap
{
    private const int NdpiFormatFlag = 65420;

    private TiffByteMap(IReadOnlyList<TiffDataLayout> directories, string? unmappable)
    {
        Directories = directories;
        Unmappable = unmappable;
    }

    public IReadOnlyList<TiffDataLayout> Directories { get; }

    /// <summary>Why the file's tiles cannot be fetched on their own, or null when they can.</summary>
    public string? Unmappable { get; }

    /// <summary>The tiled directories, largest first: the pyramid levels as OpenSlide numbers them.</summary>
    public IReadOnlyList<TiffDataLayout> Levels => Directories.Where(d => d.IsTiled).OrderByDescending(d => d.Width).ToList();

    /// <summary>Reads the map from a seekable stream (its reads are what gets fetched); null when it is no TIFF.</summary>
    public static TiffByteMap? Read(Stream stream, string name)
    {
        long length = stream.Length;
        var header = new byte[16];
        stream.Position = 0;
        if (stream.ReadAtLeast(header, 8, throwOnEndOfStream: false) < 8 || !(header[0] == header[1] && header[0] is (byte)'I' or (byte)'M'))
        {
            return null;
        }

        bool little = header[0] == (byte)'I';
        int version = little ? BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(2)) : BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
        if (version is not (42 or 43))
        {
            return null;
        }

        bool big = version == 43;
        var r = new Reader(stream, little, name);
        long next = big ? r.At(8, 8) : r.At(4, 4);
        var directories = new List<TiffDataLayout>();
        var seen = new HashSet<long>();
        string? unmappable = null;
        while (next != 0)
        {
            if (next >= length)
            {
                throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, name, $"directory {directories.Count} starts at byte {next}, past the end of the file ({length} bytes); the file is truncated.");
            }

            if (next < 8 || !seen.Add(next) || directories.Count > 10_000)
            {
                throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, name, $"directory {directories.Count} starts at byte {next}, which is not a directory; the TIFF is corrupt.");
            }

            long count = big ? r.At(next, 8) : r.At(next, 2);
            int entrySize = big ? 20 : 12;
            long entries = next + (big ? 8 : 2);
            var tags = new Dictionary<int, long[]>();
            for (long e = 0; e < count; e++)
            {
                long p = entries + (e * entrySize);
                int tag = (int)r.At(p, 2);
                int type = (int)r.At(p + 2, 2);
                long n = big ? r.At(p + 4, 8) : r.At(p + 4, 4);
                int size = type switch { 1 or 2 or 6 or 7 => 1, 3 or 8 => 2, 4 or 9 or 11 or 13 => 4, 5 or 10 or 12 or 16 or 17 or 18 => 8, _ => 0 };
                if (size == 0 || n <= 0)
                {
                    continue;
                }

                long bytes = n * size;
                bool inline = bytes <= (big ? 8 : 4);
                long valueAt = inline ? p + (big ? 12 : 8) : (big ? r.At(p + 12, 8) : r.At(p + 8, 4));
                if (valueAt + bytes > length)
                {
                    throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, name, $"directory {directories.Count}, tag {tag}: its values lie past the end of the file; the file is truncated.");
                }

                if (tag is 256 or 257 or 322 or 323 or 273 or 279 or 324 or 325)
                {
                    tags[tag] = r.Values(valueAt, n, size);
                }
                else
                {
                    // Read, so it is fetched: the TIFF library reads every tag's values when it opens a directory.
                    r.Touch(valueAt, bytes);
                }

                if (tag == NdpiFormatFlag)
                {
                    unmappable ??= "it is a Hamamatsu NDPI, whose JPEG strips are read by restart marker";
                }
            }

            next = big ? r.At(entries + (count * entrySize), 8) : r.At(entries + (count * entrySize), 4);
            bool tiled = tags.ContainsKey(322);
            long One(int tag) => tags.TryGetValue(tag, out long[]? v) && v.Length > 0 ? v[0] : 0;
            long[] offsets = tags.GetValueOrDefault(tiled ? 324 : 273) ?? [];
            long[] counts = tags.GetValueOrDefault(tiled ? 325 : 279) ?? [];
            if (offsets.Length != counts.Length || offsets.Zip(counts).Any(p => p.First + p.Second > length))
            {
                throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, name, $"directory {directories.Count}'s image data lies past the end of the file; the file is truncated.");
            }

            directories.Add(new TiffDataLayout(directories.Count, One(256), One(257), tiled, tiled ? One(322) : One(256), tiled ? One(323) : One(257), offsets, counts));
        }

        if (directories.Count == 0)
        {
            return null;
        }

        if (!directories[0].IsTiled)
        {
            unmappable ??= "its full-resolution image is stored in strips, not tiles";
        }

        return new TiffByteMap(directories, unmappable);
    }

    private sealed class Reader(Stream stream, bool little, string name)
    {
        private readonly byte[] _buffer = new byte[8];

        public long At(long offset, int size)
        {
            stream.Position = offset;
            if (stream.ReadAtLeast(_buffer.AsSpan(0, size), size, throwOnEndOfStream: false) < size)
            {
                throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, name, $"the TIFF structure at byte {offset} is truncated.");
            }

            ReadOnlySpan<byte> b = _buffer.AsSpan(0, size);
            return size switch
            {
                1 => b[0],
                2 => little ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b),
                4 => little ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b),
                _ => (long)(little ? BinaryPrimitives.ReadUInt64LittleEndian(b) : BinaryPrimitives.ReadUInt64BigEndian(b)),
            };
        }

        public long[] Values(long offset, long count, int size)
        {
            var bytes = new byte[count * size];
            stream.Position = offset;
            stream.ReadExactly(bytes);
            var values = new long[count];
            for (long k = 0; k < count; k++)
            {
                ReadOnlySpan<byte> b = bytes.AsSpan((int)(k * size), size);
                values[k] = size switch
                {
                    1 => b[0],
                    2 => little ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b),
                    4 => little ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b),
                    _ => (long)(little ? BinaryPrimitives.ReadUInt64LittleEndian(b) : BinaryPrimitives.ReadUInt64BigEndian(b)),
                };
            }

            return values;
        }

        public void Touch(long offset, long count)
        {
            var chunk = new byte[(int)Math.Min(count, 1 << 16)];
            stream.Position = offset;
            for (long left = count; left > 0; left -= chunk.Length)
            {
                stream.ReadExactly(chunk.AsSpan(0, (int)Math.Min(left, chunk.Length)));
            }
        }
    }
}
