using System.IO.Compression;
using DeepSlide.Imaging;
using DeepSlide.Slides.Raster;

namespace DeepSlide.Slides.Tiff;

/// <summary>
/// Decodes a plain (stripped, untiled) 8-bit TIFF: uncompressed, LZW, Deflate or PackBits, RGB, RGBA or grey.
/// OpenSlide reads only tiled TIFFs, and Skia reads no TIFF at all.
/// </summary>
public static class PlainTiffDecoder
{
    public static RasterSlideReader Open(string path, TiffStructure tiff)
    {
        TiffDirectory d = tiff.FirstDirectory;
        if (d.BitsPerSample != 8 || d.PlanarConfiguration != 1 || d.SamplesPerPixel is not (1 or 3 or 4) || d.Photometric is not (0 or 1 or 2))
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.UnsupportedFormat,
                path,
                $"this plain TIFF has {d.SamplesPerPixel} samples of {d.BitsPerSample} bits, photometric {d.Photometric}, planar {d.PlanarConfiguration}; only 8-bit interleaved RGB, RGBA and grey are read.");
        }

        if (d.Width * d.Height > 1L << 28)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.UnsupportedFormat,
                path,
                $"a plain TIFF of {d.Width}x{d.Height} px is too large to decode whole; convert it to a tiled pyramidal TIFF.");
        }

        int width = (int)d.Width, height = (int)d.Height, spp = d.SamplesPerPixel;
        int rowBytes = width * spp;
        var raw = new byte[rowBytes * height];
        using (var stream = File.OpenRead(path))
        {
            for (int s = 0; s < d.DataOffsets.Length; s++)
            {
                long firstRow = s * d.RowsPerStrip;
                if (firstRow >= height)
                {
                    break;
                }

                int rows = (int)Math.Min(d.RowsPerStrip, height - firstRow);
                var encoded = new byte[d.DataByteCounts[s]];
                stream.Position = d.DataOffsets[s];
                stream.ReadExactly(encoded);
                Span<byte> target = raw.AsSpan((int)(firstRow * rowBytes), rows * rowBytes);
                int produced = Decompress(path, d.Compression, encoded, target);
                if (produced < target.Length)
                {
                    throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, $"strip {s} decodes to {produced} bytes; {target.Length} expected. The file is corrupt.");
                }

                if (d.Predictor == 2)
                {
                    for (int y = 0; y < rows; y++)
                    {
                        Span<byte> row = target.Slice(y * rowBytes, rowBytes);
                        for (int i = spp; i < row.Length; i++)
                        {
                            row[i] += row[i - spp];
                        }
                    }
                }
            }
        }

        var image = new RgbImage(width, height);
        for (int i = 0; i < width * height; i++)
        {
            byte r, g, b;
            if (spp == 1)
            {
                r = g = b = d.Photometric == 0 ? (byte)(255 - raw[i]) : raw[i];
            }
            else
            {
                r = raw[i * spp];
                g = raw[i * spp + 1];
                b = raw[i * spp + 2];
                if (spp == 4)
                {
                    int a = raw[i * 4 + 3];
                    r = (byte)((r * a + 255 * (255 - a) + 127) / 255);
                    g = (byte)((g * a + 255 * (255 - a) + 127) / 255);
                    b = (byte)((b * a + 255 * (255 - a) + 127) / 255);
                }
            }

            image.Pixels[i * 3] = r;
            image.Pixels[i * 3 + 1] = g;
            image.Pixels[i * 3 + 2] = b;
        }

        double? mpp = d.XResolution is double res && res > 0
            ? d.ResolutionUnit switch { 3 => 10_000 / res, 2 => 25_400 / res, _ => null }
            : null;
        return RasterSlideReader.FromImage(path, "tiff", image, mpp);
    }

    private static int Decompress(string path, int compression, byte[] src, Span<byte> dst)
    {
        switch (compression)
        {
            case 1:
                int n = Math.Min(src.Length, dst.Length);
                src.AsSpan(0, n).CopyTo(dst);
                return n;
            case 8 or 32946:
                using (var z = new ZLibStream(new MemoryStream(src), CompressionMode.Decompress))
                {
                    try
                    {
                        return z.ReadAtLeast(dst, dst.Length, throwOnEndOfStream: false);
                    }
                    catch (InvalidDataException ex)
                    {
                        throw new DeepSlideException(DeepSlideErrorReason.CorruptFile, path, "a Deflate strip is corrupt.", ex);
                    }
                }

            case 5:
                return Lzw(src, dst);
            case 32773:
                return PackBits(src, dst);
            default:
                throw new DeepSlideException(
                    DeepSlideErrorReason.UnsupportedFormat,
                    path,
                    $"this plain TIFF uses compression {compression}; only none, LZW, Deflate and PackBits are read (convert it to a tiled pyramidal TIFF).");
        }
    }

    private static int PackBits(byte[] src, Span<byte> dst)
    {
        int i = 0, o = 0;
        while (i < src.Length && o < dst.Length)
        {
            int n = (sbyte)src[i++];
            if (n >= 0)
            {
                int len = Math.Min(Math.Min(n + 1, src.Length - i), dst.Length - o);
                src.AsSpan(i, len).CopyTo(dst[o..]);
                i += n + 1;
                o += len;
            }
            else if (n != -128 && i < src.Length)
            {
                int len = Math.Min(1 - n, dst.Length - o);
                dst.Slice(o, len).Fill(src[i++]);
                o += len;
            }
        }

        return o;
    }

    // TIFF LZW: MSB-first codes of 9 to 12 bits, Clear = 256, End = 257, and the code width grows one code early.
    private static int Lzw(byte[] src, Span<byte> dst)
    {
        var prefix = new int[4096];
        var suffix = new byte[4096];
        var first = new byte[4096];
        var length = new int[4096];
        for (int c = 0; c < 256; c++)
        {
            suffix[c] = first[c] = (byte)c;
            length[c] = 1;
        }

        int next = 258, width = 9, previous = -1, o = 0;
        long bitPos = 0, totalBits = (long)src.Length * 8;
        while (bitPos + width <= totalBits && o < dst.Length)
        {
            int code = 0;
            for (int b = 0; b < width; b++, bitPos++)
            {
                code = (code << 1) | ((src[bitPos >> 3] >> (7 - (int)(bitPos & 7))) & 1);
            }

            if (code == 257)
            {
                break;
            }

            if (code == 256)
            {
                next = 258;
                width = 9;
                previous = -1;
                continue;
            }

            int entry;
            if (code < next && (code < 256 || length[code] > 0))
            {
                entry = code;
                if (previous >= 0 && next < 4096)
                {
                    Add(previous, first[code]);
                }
            }
            else if (previous >= 0 && code == next && next < 4096)
            {
                Add(previous, first[previous]);
                entry = code;
            }
            else
            {
                break;
            }

            int len = length[entry];
            int end = Math.Min(o + len, dst.Length);
            int c2 = entry;
            for (int k = o + len - 1; k >= o; k--)
            {
                if (k < end)
                {
                    dst[k] = suffix[c2];
                }

                c2 = prefix[c2];
            }

            o = end;
            previous = entry;
            if (next + 1 >= (1 << width) && width < 12)
            {
                width++;
            }
        }

        return o;

        void Add(int p, byte s)
        {
            prefix[next] = p;
            suffix[next] = s;
            first[next] = first[p];
            length[next] = length[p] + 1;
            next++;
        }
    }
}
