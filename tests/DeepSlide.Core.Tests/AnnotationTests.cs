using DeepSlide.Annotations;
using DeepSlide.Imaging;

namespace DeepSlide.Core.Tests;

public class AnnotationTests
{
    private static readonly string[] Classes = ["adenocarcinoma", "benign", "squamous"];

    private static string Feature(string geometry, string cls = "adenocarcinoma", string extra = "") =>
        "{\"type\":\"Feature\",\"id\":\"f-" + cls + "\",\"geometry\":" + geometry
        + ",\"properties\":{\"objectType\":\"annotation\",\"classification\":{\"name\":\"" + cls + "\"" + extra + "}}}";

    private const string Square = """{"type":"Polygon","coordinates":[[[0,0],[100,0],[100,100],[0,100],[0,0]]]}""";

    [Fact]
    public void A_feature_collection_and_a_bare_array_read_the_same()
    {
        RegionAnnotations collection = GeoJsonAnnotations.Parse($$"""{"type":"FeatureCollection","features":[{{Feature(Square)}}]}""", "a.geojson");
        RegionAnnotations array = GeoJsonAnnotations.Parse($"[{Feature(Square)}]", "b.geojson");
        foreach (RegionAnnotations a in new[] { collection, array })
        {
            Assert.Equal("adenocarcinoma", a.ClassAt(50, 50));
            Assert.Null(a.ClassAt(150, 50));
            Assert.Equal(10_000, a.Regions.Single().Area);
        }
    }

    [Fact]
    public void A_hole_is_outside_its_polygon()
    {
        const string withHole = """{"type":"Polygon","coordinates":[[[0,0],[100,0],[100,100],[0,100],[0,0]],[[40,40],[60,40],[60,60],[40,60],[40,40]]]}""";
        RegionAnnotations a = GeoJsonAnnotations.Parse($"[{Feature(withHole)}]", "hole.geojson");
        Assert.Equal("adenocarcinoma", a.ClassAt(20, 20));
        Assert.Null(a.ClassAt(50, 50));
        Assert.Equal(10_000 - 400, a.Regions.Single().Area);
    }

    [Fact]
    public void A_multipolygon_gives_each_part_its_class_and_the_QuPath_colour_is_kept()
    {
        const string multi = """{"type":"MultiPolygon","coordinates":[[[[0,0],[10,0],[10,10],[0,10],[0,0]]],[[[200,200],[300,200],[300,300],[200,300],[200,200]]]]}""";
        RegionAnnotations a = GeoJsonAnnotations.Parse($"[{Feature(multi, "squamous", ",\"color\":[10,20,30]")}]", "multi.geojson");
        Assert.Equal(2, a.Regions.Count);
        Assert.Equal("squamous", a.ClassAt(5, 5));
        Assert.Equal("squamous", a.ClassAt(250, 250));
        Assert.Null(a.ClassAt(100, 100));
        Assert.Equal(((byte)10, (byte)20, (byte)30), a.Colours["squamous"]);
    }

    [Fact]
    public void Nested_regions_take_the_smaller_ones_class()
    {
        const string inner = """{"type":"Polygon","coordinates":[[[20,20],[40,20],[40,40],[20,40],[20,20]]]}""";
        RegionAnnotations a = GeoJsonAnnotations.Parse($"[{Feature(Square, "benign")},{Feature(inner, "squamous")}]", "nested.geojson");
        Assert.Equal("squamous", a.ClassAt(30, 30));
        Assert.Equal("benign", a.ClassAt(80, 80));
    }

    [Theory]
    [InlineData("""[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[100,0],[100,100],[0,100],[0,0]]]},"properties":{"classification":{"name":"lymphoma"}}}]""", "feature 0 has class 'lymphoma', which is not one of the classes")]
    [InlineData("""[{"type":"Feature","id":"x1","geometry":{"type":"Polygon","coordinates":[[[0,0],[100,0],[100,100],[0,100],[0,0]]]},"properties":{}}]""", "feature 0 (id 'x1') has no class")]
    [InlineData("""[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[100,0],[100,100],[0,100]]]},"properties":{"classification":{"name":"benign"}}}]""", "is not closed")]
    [InlineData("""[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[100,0],[0,0]]]},"properties":{"classification":{"name":"benign"}}}]""", "a GeoJSON ring needs at least 4")]
    [InlineData("""[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[100,0],[200,0],[0,0]]]},"properties":{"classification":{"name":"benign"}}}]""", "encloses no area")]
    [InlineData("""[{"type":"Feature","geometry":{"type":"Point","coordinates":[5,5]},"properties":{"classification":{"name":"benign"}}}]""", "is a Point geometry; region annotations must be Polygon or MultiPolygon")]
    [InlineData("""[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[5000,0],[5000,100],[0,100],[0,0]]]},"properties":{"classification":{"name":"benign"}}}]""", "position (5000, 0) lies outside the slide (1000 x 800 px at level 0)")]
    [InlineData("""{"type":"Feature"}""", "a single Feature")]
    [InlineData("""{"features": 3""", "not valid JSON")]
    public void A_bad_file_is_one_error_naming_the_file_and_the_feature(string json, string expected)
    {
        var ex = Assert.Throws<DeepSlideException>(() => GeoJsonAnnotations.Parse(json, "slide-7.geojson", 1000, 800, Classes));
        Assert.StartsWith("slide-7.geojson: ", ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void A_patch_takes_the_class_holding_most_of_its_tissue_or_none()
    {
        // Tumour covers x < 100; a 100 px patch at x = 40 has 60% of its area in it.
        const string left = """{"type":"Polygon","coordinates":[[[0,0],[100,0],[100,1000],[0,1000],[0,0]]]}""";
        RegionAnnotations a = GeoJsonAnnotations.Parse($"[{Feature(left)}]", "r.geojson");
        Assert.Equal(new RegionLabel("adenocarcinoma", LabelSource.Annotation, 0.625), a.LabelOf(40, 0, 100, outsideClass: null));
        Assert.Equal("benign", a.LabelOf(60, 0, 100, outsideClass: "benign").ClassName);
        Assert.Equal(LabelSource.Outside, a.LabelOf(60, 0, 100, outsideClass: "benign").Source);
        Assert.Null(a.LabelOf(60, 0, 100, outsideClass: null).ClassName);
        Assert.Null(a.LabelOf(50, 0, 100, outsideClass: "benign").ClassName);

        // Only the tissue counts: the same patch with its tissue all on the right is outside.
        (double, double)[] tissueOnTheRight = [(120, 10), (130, 50), (135, 90)];
        Assert.Equal("benign", a.LabelOf(40, 0, 100, "benign", tissueOnTheRight).ClassName);

        // A least annotated share under one half lets the edge of a focus label the patch: at x = 70 the tumour
        // holds 30% of it (16 x 16 points, 5 columns of 16 = 31.25%).
        Assert.Equal("benign", a.LabelOf(70, 0, 100, "benign").ClassName);
        Assert.Equal(new RegionLabel("adenocarcinoma", LabelSource.Annotation, 0.3125), a.LabelOf(70, 0, 100, "benign", minAnnotatedShare: 0.25));
        Assert.Equal("benign", a.LabelOf(80, 0, 100, "benign", minAnnotatedShare: 0.25).ClassName);
    }

    [Fact]
    public void No_palette_colour_is_near_white_or_the_slide_background_and_all_are_distinct()
    {
        (int R, int G, int B)[] near = [(255, 255, 255), (244, 242, 245), (240, 240, 240)];
        foreach ((byte r, byte g, byte b) in CategoricalPalette.OkabeIto)
        {
            foreach ((int R, int G, int B) bg in near)
            {
                double distance = Math.Sqrt(Math.Pow(r - bg.R, 2) + Math.Pow(g - bg.G, 2) + Math.Pow(b - bg.B, 2));
                Assert.True(distance > 100, $"({r},{g},{b}) is {distance:0} from ({bg.R},{bg.G},{bg.B})");
            }
        }

        Assert.Equal(CategoricalPalette.OkabeIto.Count, CategoricalPalette.OkabeIto.Distinct().Count());
        Assert.Equal(((byte)1, (byte)2, (byte)3), CategoricalPalette.For(0, "benign", new Dictionary<string, (byte, byte, byte)> { ["benign"] = (1, 2, 3) }));
        Assert.Equal(CategoricalPalette.OkabeIto[1], CategoricalPalette.For(1, "other", new Dictionary<string, (byte, byte, byte)> { ["benign"] = (1, 2, 3) }));
    }
}
