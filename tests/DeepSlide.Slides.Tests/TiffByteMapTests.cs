using System.Diagnostics;
using System.Text.RegularExpressions;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Slides.Tiff;
using DeepSlide.Synthesis;

namespace DeepSlide.Slides.Tests;

/// <summary>The byte map against libtiff's own reading of the same files (tiffinfo and tiffdump, from libtiff-tools).</summary>
public sealed class TiffByteMapTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-bytemap-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(SyntheticFormat.Aperio, null)]
    [InlineData(SyntheticFormat.Tiff, "-8")]
    public async Task Every_directory_s_size_tiling_and_tile_bytes_are_what_libtiff_reads(SyntheticFormat format, string? tiffcp)
    {
        string path = Path.Combine(_folder, "slide.tif");
        SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("benign", 3000, 2000, 4)), path, format);
        if (tiffcp is not null)
        {
            string big = Path.Combine(_folder, "big.tif");
            Assert.Equal(string.Empty, await Run("tiffcp", tiffcp, path, big));
            path = big;
        }

        TiffByteMap map;
        await using (FileStream file = File.OpenRead(path))
        {
            map = TiffByteMap.Read(file, path)!;
        }

        Assert.Null(map.Unmappable);
        string info = await Run("tiffinfo", path);
        var sizes = Regex.Matches(info, @"Image Width: (\d+) Image Length: (\d+)").Select(m => (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value))).ToList();
        Assert.Equal(sizes, map.Directories.Select(d => (d.Width, d.Height)));
        var tiles = Regex.Matches(info, @"Tile Width: (\d+) Tile Length: (\d+)").Select(m => (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value))).ToList();
        Assert.Equal(tiles, map.Directories.Where(d => d.IsTiled).Select(d => (d.TileWidth, d.TileHeight)));

        // tiffdump lists each tiled directory's TileByteCounts (325): how many, and the first of them.
        string dump = await Run("tiffdump", path);
        var listed = Regex.Matches(dump, @"TileByteCounts \(325\) \w+ \(\d+\) (\d+)<([^>]*)>")
            .Select(m => (Count: long.Parse(m.Groups[1].Value), First: m.Groups[2].Value.Split(' ').Where(v => v.All(char.IsDigit) && v.Length > 0).Select(long.Parse).ToArray()))
            .ToList();
        List<TiffDataLayout> tiled = map.Directories.Where(d => d.IsTiled).ToList();
        Assert.Equal(tiled.Count, listed.Count);
        for (int i = 0; i < tiled.Count; i++)
        {
            Assert.Equal(listed[i].Count, tiled[i].ByteCounts.Length);
            Assert.Equal(listed[i].First, tiled[i].ByteCounts.Take(listed[i].First.Length));
        }
    }

    private static async Task<string> Run(string tool, params string[] arguments)
    {
        using Process process = Process.Start(new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }
}
