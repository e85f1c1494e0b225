using System.Text.Json;
using DeepSlide.Aggregation;
using DeepSlide.Imaging;
using DeepSlide.Slides;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using DeepSlide.Tiling;
using SkiaSharp;

namespace DeepSlide.Visualization.Tests;

/// <summary>An 8,192 x 6,144 pyramidal slide (levels at 1, 4, 16), written once for the test class.</summary>
public sealed class LargeSlide : IDisposable
{
    public LargeSlide()
    {
        Folder = Directory.CreateTempSubdirectory("deepslide-pictures-").FullName;
        Path = System.IO.Path.Combine(Folder, "slide.svs");
        SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("squamous", 8192, 6144, 3)), Path, SyntheticFormat.Aperio);
    }

    public string Folder { get; }

    public string Path { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public sealed class PictureTests(LargeSlide slide) : IClassFixture<LargeSlide>
{
    private static readonly string[] Classes = ["adenocarcinoma", "benign", "squamous"];
    private readonly string _folder = slide.Folder;
    private readonly string _slide = slide.Path;

    private static (TilePlan Plan, PatchProbabilities Patches) Classified(ISlideReader reader)
    {
        TilePlan plan = TilePlanner.Plan(reader, new TilingOptions());
        // Alternate certain squamous and half-certain adenocarcinoma calls.
        float[] p = plan.Tiles.SelectMany((_, i) => i % 2 == 0 ? new[] { 0f, 0f, 1f } : [0.5f, 0.3f, 0.2f]).ToArray();
        return (plan, new PatchProbabilities(Classes, p));
    }

    [Fact]
    public void Pictures_of_a_large_slide_are_drawn_without_reading_level_0()
    {
        using var reader = new RecordingReader(SlideReader.Open(_slide));
        (TilePlan plan, PatchProbabilities patches) = Classified(reader);
        reader.Levels.Clear();
        var result = new SlideResult(_slide, SlideStatus.Classified, plan, patches, [], "CPU", 0);
        IReadOnlyList<string> files = ResultPictures.Write(reader, result, _folder, new PictureOptions { Size = 500 });
        Assert.Equal(7, files.Count);
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 0, f));
        Assert.NotEmpty(reader.Levels);
        Assert.DoesNotContain(0, reader.Levels);
    }

    [Fact]
    public void A_confident_patch_is_tinted_with_its_class_colour_and_a_less_confident_one_more_faintly()
    {
        using ISlideReader reader = SlideReader.Open(_slide);
        (TilePlan plan, PatchProbabilities patches) = Classified(reader);
        using var pictures = new SlidePictures(reader, new PictureOptions { Size = 1024, MaxAlpha = 0.6 });
        using SKBitmap plain = SlidePictures.ToBitmap(reader.ReadThumbnail(1024));
        using SKBitmap overlay = pictures.ClassOverlay(plan, patches);
        double scale = 1024.0 / 8192;
        foreach (int i in new[] { 0, 1 })
        {
            Tile t = plan.Tiles[i];
            int x = (int)((t.X + 112) * scale), y = (int)((t.Y + 112) * scale);
            SKColor under = plain.GetPixel(x, y), over = overlay.GetPixel(x, y);
            (SKColor colour, double alpha) = i == 0 ? (ClassColours.For(2), 0.6) : (ClassColours.For(0), 0.6 * 0.5);
            Assert.Equal(under.Red + (colour.Red - under.Red) * alpha, over.Red, 3.0);
            Assert.Equal(under.Green + (colour.Green - under.Green) * alpha, over.Green, 3.0);
            Assert.Equal(under.Blue + (colour.Blue - under.Blue) * alpha, over.Blue, 3.0);
        }
    }

    [Fact]
    public void A_heatmap_pixel_shows_the_ramp_colour_of_its_patchs_probability()
    {
        using ISlideReader reader = SlideReader.Open(_slide);
        (TilePlan plan, PatchProbabilities patches) = Classified(reader);
        using var pictures = new SlidePictures(reader, new PictureOptions { Size = 1024 });
        using SKBitmap heatmap = pictures.Heatmap(plan, patches, 2);
        Tile t = plan.Tiles[0];
        SKColor pixel = heatmap.GetPixel((int)((t.X + 112) / 8.0), (int)((t.Y + 112) / 8.0));
        SKColor yellow = ClassColours.Ramp(1);
        Assert.True(Math.Abs(pixel.Red - yellow.Red) < 30 && Math.Abs(pixel.Green - yellow.Green) < 30 && pixel.Blue < 100, pixel.ToString());
    }

    [Fact]
    public void Purple_is_purple_and_the_ramp_runs_dark_to_yellow()
    {
        SKColor purple = ClassColours.For(3);
        Assert.True(purple.Red > purple.Green && purple.Blue > purple.Green && purple.Blue > 100, purple.ToString());
        Assert.Equal(new SKColor(68, 1, 84), ClassColours.Ramp(0));
        Assert.Equal(new SKColor(253, 231, 37), ClassColours.Ramp(1));
        Assert.Equal(ClassColours.For(0), ClassColours.For(8));
    }

    [Fact]
    public void The_geojson_has_one_detection_per_patch_in_level_0_pixels_and_the_tissue_as_an_annotation()
    {
        using ISlideReader reader = SlideReader.Open(_slide);
        (TilePlan plan, PatchProbabilities patches) = Classified(reader);
        using var stream = new MemoryStream();
        QuPathGeoJson.Write(stream, plan, patches);
        using JsonDocument json = JsonDocument.Parse(stream.ToArray());
        JsonElement[] features = json.RootElement.GetProperty("features").EnumerateArray().ToArray();
        Assert.Equal("FeatureCollection", json.RootElement.GetProperty("type").GetString());
        Assert.Equal(patches.Count + 1, features.Length);

        JsonElement first = features[0];
        double[][] ring = first.GetProperty("geometry").GetProperty("coordinates")[0].EnumerateArray().Select(p => p.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Tile t = plan.Tiles[0];
        Assert.Equal([t.X, t.Y], ring[0]);
        Assert.Equal([t.X + 224.0, t.Y + 224.0], ring[2]);
        Assert.Equal(ring[0], ring[4]);
        JsonElement properties = first.GetProperty("properties");
        Assert.Equal("detection", properties.GetProperty("objectType").GetString());
        Assert.Equal("squamous", properties.GetProperty("classification").GetProperty("name").GetString());
        Assert.Equal([0, 114, 178], properties.GetProperty("classification").GetProperty("color").EnumerateArray().Select(v => v.GetInt32()));
        Assert.Equal(1.0, properties.GetProperty("measurements").GetProperty("p_squamous").GetDouble());

        JsonElement tissue = features[^1];
        Assert.Equal("annotation", tissue.GetProperty("properties").GetProperty("objectType").GetString());
        double area = tissue.GetProperty("geometry").GetProperty("coordinates").EnumerateArray()
            .Select(polygon => polygon[0]).Sum(r => (r[1][0].GetDouble() - r[0][0].GetDouble()) * (r[2][1].GetDouble() - r[1][1].GetDouble()));
        Assert.Equal(plan.Mask!.TissuePixelCount * plan.Mask.Downsample * plan.Mask.Downsample, area, 1e-3 * area);
    }

    [Fact]
    public void A_focus_a_call_rests_on_is_an_annotation_named_by_the_call_over_its_cells()
    {
        using ISlideReader reader = SlideReader.Open(_slide);
        (TilePlan plan, PatchProbabilities patches) = Classified(reader);
        var call = new SlideCall("threshold", "squamous", [0, 0, 1], "a focus of 3 squamous patches") { Focus = new FocusArea(3, 2, 1, 3, 2) { Class = "squamous" } };
        using var stream = new MemoryStream();
        QuPathGeoJson.Write(stream, plan, patches, calls: [new SlideCall("majority", "squamous", [0, 0, 1]), call]);
        using JsonDocument json = JsonDocument.Parse(stream.ToArray());
        JsonElement[] features = json.RootElement.GetProperty("features").EnumerateArray().ToArray();
        Assert.Equal(patches.Count + 2, features.Length);

        JsonElement focus = features[^1];
        double[][] ring = focus.GetProperty("geometry").GetProperty("coordinates")[0].EnumerateArray().Select(p => p.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Assert.Equal([[448, 224], [1120, 224], [1120, 672], [448, 672], [448, 224]], ring);
        JsonElement properties = focus.GetProperty("properties");
        Assert.Equal(("annotation", "threshold: a focus of 3 squamous patches"), (properties.GetProperty("objectType").GetString(), properties.GetProperty("name").GetString()));
        Assert.Equal("squamous", properties.GetProperty("classification").GetProperty("name").GetString());
    }

    private sealed class RecordingReader(ISlideReader inner) : ISlideReader
    {
        public List<int> Levels { get; } = [];

        public SlideInfo Info => inner.Info;

        public void ReadRegion(int level, long x, long y, int width, int height, Span<byte> rgb)
        {
            lock (Levels)
            {
                Levels.Add(level);
            }

            inner.ReadRegion(level, x, y, width, height, rgb);
        }

        public RgbImage ReadAssociatedImage(string name) => inner.ReadAssociatedImage(name);

        public void Dispose() => inner.Dispose();
    }
}
