using System.Diagnostics;
using DeepSlide.Imaging;

namespace DeepSlide.Slides.Tests;

/// <summary>Writes an uncompressed stripped RGB TIFF, and re-encodes TIFFs with libtiff's own tiffcp.</summary>
internal static class PlainTiff
{
    public static void WriteUncompressed(string path, RgbImage image, int rowsPerStrip)
    {
        using var stream = File.Create(path);
        using var w = new BinaryWriter(stream);
        int strips = (image.Height + rowsPerStrip - 1) / rowsPerStrip;
        w.Write("II"u8);
        w.Write((ushort)42);
        w.Write(8u);
        const int Entries = 10;
        uint afterIfd = (uint)(8 + 2 + Entries * 12 + 4);
        uint bitsAt = afterIfd, offsetsAt = bitsAt + 6, countsAt = offsetsAt + (uint)(4 * strips), dataAt = countsAt + (uint)(4 * strips);
        w.Write((ushort)Entries);
        void Entry(ushort tag, ushort type, uint count, uint value)
        {
            w.Write(tag);
            w.Write(type);
            w.Write(count);
            w.Write(value);
        }

        Entry(256, 4, 1, (uint)image.Width);
        Entry(257, 4, 1, (uint)image.Height);
        Entry(258, 3, 3, bitsAt);
        Entry(259, 3, 1, 1);
        Entry(262, 3, 1, 2);
        Entry(273, 4, (uint)strips, strips == 1 ? dataAt : offsetsAt);
        Entry(277, 3, 1, 3);
        Entry(278, 4, 1, (uint)rowsPerStrip);
        Entry(279, 4, (uint)strips, strips == 1 ? (uint)(image.Stride * image.Height) : countsAt);
        Entry(284, 3, 1, 1);
        w.Write(0u);
        w.Write((ushort)8);
        w.Write((ushort)8);
        w.Write((ushort)8);
        for (int s = 0; s < strips; s++)
        {
            w.Write(dataAt + (uint)(s * rowsPerStrip * image.Stride));
        }

        for (int s = 0; s < strips; s++)
        {
            w.Write((uint)(Math.Min(rowsPerStrip, image.Height - s * rowsPerStrip) * image.Stride));
        }

        w.Write(image.Pixels, 0, image.Stride * image.Height);
    }

    public static void Recompress(string source, string target, string compression, int rowsPerStrip)
    {
        var start = new ProcessStartInfo("tiffcp") { RedirectStandardError = true };
        foreach (string a in new[] { "-c", compression, "-r", rowsPerStrip.ToString(System.Globalization.CultureInfo.InvariantCulture), source, target })
        {
            start.ArgumentList.Add(a);
        }

        using Process p = Process.Start(start) ?? throw new InvalidOperationException("tiffcp (apt libtiff-tools) is needed for this test.");
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"tiffcp failed: {error}");
    }
}
