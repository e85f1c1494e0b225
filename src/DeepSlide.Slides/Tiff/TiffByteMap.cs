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
/// A TIFF's (classic or BigTIFF) directories as a reader of byte ranges needs them. Reading the map reads, through
/// <see cref="TiffStructure"/>, every byte of structure a TIFF library reads when it opens the file (the header,
/// every directory, every tag's values, JPEG tables included), and says where each directory's tiles or strips lie,
/// so the bytes of just the tiles a region needs can be fetched. <see cref="Unmappable"/> says why a file cannot be
/// read that way (NDPI's restart-marker strips, a strip-organised image), and the caller reads it whole.
/// </summary>
public sealed class TiffByteMap
{
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
        var magic = new byte[4];
        stream.Position = 0;
        bool tiff = stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4
            && ((magic[0] == 'I' && magic[1] == 'I' && magic[2] is 42 or 43 && magic[3] == 0)
                || (magic[0] == 'M' && magic[1] == 'M' && magic[2] == 0 && magic[3] is 42 or 43));
        if (!tiff)
        {
            return null;
        }

        TiffStructure structure = TiffStructure.Read(stream, name, readEveryTag: true);
        var directories = structure.Directories.Select((d, i) => new TiffDataLayout(i, d.Width, d.Height, d.IsTiled, d.TileWidth, d.TileHeight, d.DataOffsets, d.DataByteCounts)).ToList();
        string? unmappable = structure.Directories.Any(d => d.IsNdpi) ? "it is a Hamamatsu NDPI, whose JPEG strips are read by restart marker"
            : !structure.FirstDirectory.IsTiled ? "its full-resolution image is stored in strips, not tiles"
            : null;
        return new TiffByteMap(directories, unmappable);
    }
}
