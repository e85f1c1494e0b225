using System.Diagnostics;
using System.Text.Json;
using System.Xml.Linq;
using DeepSlide.Imaging;
using DeepSlide.Slides;
using DeepSlide.Tiling;

namespace DeepSlide.Viewer.Tests;

/// <summary>
/// The viewer's Deep Zoom tiles against OpenSlide's own <c>DeepZoomGenerator</c> (python3-openslide, run as a check):
/// the same descriptor, the same region read for each tile, the same tile size, and pixels within a Lanczos rounding
/// step (the tile before JPEG) or JPEG's tolerance (the tile as served), on an Aperio SVS and a generic TIFF, at full
/// resolution, two levels above it, and coarse levels where the scaling first reduces by whole factors; edge tiles too.
/// </summary>
public sealed class DeepZoomReferenceTests(ViewerSlides slides) : IClassFixture<ViewerSlides>
{
    public static TheoryData<string> Formats => new() { "aperio", "generic" };

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Tiles_equal_DeepZoomGenerator_at_every_tested_level_and_edge(string format)
    {
        string slidePath = format == "aperio" ? slides.Aperio : slides.GenericTiff;
        using ISlideReader reader = SlideReader.Open(slidePath);
        var grid = new DeepZoomGrid(reader.Info.Levels);
        List<(int Level, int Column, int Row)> addresses = Addresses(grid);
        string reference = Reference(slidePath, addresses);

        using (JsonDocument tiles = JsonDocument.Parse(File.ReadAllText(Path.Combine(reference, "tiles.json"))))
        {
            Assert.Equal(tiles.RootElement.GetProperty("levels").GetInt32(), grid.LevelCount);
            for (int level = 0; level < grid.LevelCount; level++)
            {
                JsonElement counts = tiles.RootElement.GetProperty("levelTiles")[level];
                Assert.Equal((counts[0].GetInt32(), counts[1].GetInt32()), grid.TileCount(level));
            }

            foreach ((int level, int column, int row) in addresses)
            {
                JsonElement expected = tiles.RootElement.GetProperty("tiles").GetProperty($"{level}/{column}_{row}");
                DeepZoomRead read = grid.Read(level, column, row);
                Assert.Equal(
                    (expected.GetProperty("location")[0].GetInt64(), expected.GetProperty("location")[1].GetInt64(), expected.GetProperty("slideLevel").GetInt32(), expected.GetProperty("size")[0].GetInt32(), expected.GetProperty("size")[1].GetInt32()),
                    (read.X, read.Y, read.SlideLevel, read.ReadWidth, read.ReadHeight));
            }
        }

        Assert.Equal(DziAttributes(File.ReadAllText(Path.Combine(reference, "slide.dzi"))), DziAttributes(grid.Descriptor()));

        await using ViewerServer server = await ViewerServer.StartAsync(new ResultsFolderSource(slides.ResultsFolder, slides.SlidesFolder));
        using var http = new HttpClient { BaseAddress = server.Address };
        string runId = slides.RunIdOf(slidePath);
        foreach ((int level, int column, int row) in addresses)
        {
            RgbImage expected = ImageFiles.Load(Path.Combine(reference, $"{level}_{column}_{row}.png"));
            RgbImage raw = grid.ReadTile(reader, level, column, row);
            Assert.Equal((expected.Width, expected.Height), (raw.Width, raw.Height));
            (double rawMean, int rawMax) = Difference(expected, raw);
            Assert.True(rawMean <= 0.05 && rawMax <= 2, $"tile {level}/{column}_{row} before JPEG: mean |difference| {rawMean:F3}, largest {rawMax}");

            byte[] jpeg = await http.GetByteArrayAsync($"api/runs/{runId}/slide_files/{level}/{column}_{row}.jpeg");
            string file = Path.Combine(reference, $"served_{level}_{column}_{row}.jpg");
            await File.WriteAllBytesAsync(file, jpeg);
            RgbImage served = ImageFiles.Load(file);
            Assert.Equal((expected.Width, expected.Height), (served.Width, served.Height));
            (double mean, _) = Difference(expected, served);

            // JPEG's own tolerance: what encoding the reference tile at the same quality loses.
            string again = Path.Combine(reference, $"reference_{level}_{column}_{row}.jpg");
            await File.WriteAllBytesAsync(again, ImageFiles.Encode(expected.Pixels, expected.Width, expected.Height, jpeg: true, new ViewerOptions().JpegQuality));
            (double jpegLoss, _) = Difference(expected, ImageFiles.Load(again));
            Assert.True(mean <= jpegLoss + 0.25, $"tile {level}/{column}_{row} as served: mean |difference| {mean:F2}, JPEG alone loses {jpegLoss:F2}");
        }
    }

    // Full resolution (corners, an inner tile, the last column and row), the two levels above, and three coarse levels.
    private static List<(int, int, int)> Addresses(DeepZoomGrid grid)
    {
        var addresses = new List<(int, int, int)>();
        int top = grid.LevelCount - 1;
        foreach (int level in new[] { top, top - 1, top - 2, top - 5, 3, 0 })
        {
            (int columns, int rows) = grid.TileCount(level);
            foreach ((int c, int r) in new[] { (0, 0), (columns - 1, rows - 1), (columns - 1, 0), (0, rows - 1), (columns / 2, rows / 2) })
            {
                if (!addresses.Contains((level, c, r)))
                {
                    addresses.Add((level, c, r));
                }
            }
        }

        return addresses;
    }

    private string Reference(string slidePath, IEnumerable<(int Level, int Column, int Row)> addresses)
    {
        string out_ = Path.Combine(slides.Folder, "reference-" + Path.GetFileNameWithoutExtension(slidePath).GetHashCode().ToString("x"));
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "deepzoom_reference.py"));
        start.ArgumentList.Add(slidePath);
        start.ArgumentList.Add(out_);
        foreach ((int level, int column, int row) in addresses)
        {
            start.ArgumentList.Add($"{level}/{column}_{row}");
        }

        using Process python = Process.Start(start)!;
        string errors = python.StandardError.ReadToEnd();
        python.WaitForExit();
        Assert.True(python.ExitCode == 0, $"the reference (python3-openslide's DeepZoomGenerator; scripts/prerequisites.sh installs it) failed: {errors}");
        return out_;
    }

    private static string DziAttributes(string xml)
    {
        XElement image = XElement.Parse(xml);
        XElement size = image.Elements().Single();
        return string.Join(";", new[] { image.Name.ToString(), size.Name.ToString() }
            .Concat(image.Attributes().Concat(size.Attributes()).Select(a => $"{a.Name}={a.Value}").Order(StringComparer.Ordinal)));
    }

    private static (double Mean, int Max) Difference(RgbImage a, RgbImage b)
    {
        long sum = 0;
        int max = 0;
        for (int i = 0; i < a.Width * a.Height * 3; i++)
        {
            int d = Math.Abs(a.Pixels[i] - b.Pixels[i]);
            sum += d;
            max = Math.Max(max, d);
        }

        return (sum / (double)(a.Width * a.Height * 3), max);
    }
}
