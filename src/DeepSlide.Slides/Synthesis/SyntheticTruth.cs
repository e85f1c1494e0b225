using System.Globalization;
using System.Text;
using System.Text.Json;
using DeepSlide.Imaging;
using DeepSlide.Synthesis;

namespace DeepSlide.Slides.Synthesis;

/// <summary>
/// The region truth of a synthetic slide, in the forms a lab has: QuPath GeoJSON annotations of the non-benign
/// regions (what <c>tiles --annotations</c> and <c>evaluate --annotations</c> read) and a label map picture.
/// </summary>
public static class SyntheticTruth
{
    private static readonly System.Text.Json.JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public const string AnnotationsFolder = "annotations";
    public const string MapsFolder = "maps";

    public static void Write(SyntheticSlide slide, string slideName, IReadOnlyList<string> classes, string folder)
    {
        string annotations = Path.Combine(folder, AnnotationsFolder);
        string maps = Path.Combine(folder, MapsFolder);
        Directory.CreateDirectory(annotations);
        Directory.CreateDirectory(maps);

        (int w, int h, string?[] map) = slide.RegionMap();
        var image = RgbImage.Filled(w, h, 255, 255, 255);
        for (int i = 0; i < map.Length; i++)
        {
            if (map[i] is string c)
            {
                var colour = CategoricalPalette.For(Index(classes, c));
                image[i % w, i / w] = (colour.R, colour.G, colour.B);
            }
        }

        ImageFiles.Save(image, Path.Combine(maps, slideName + ".png"));

        List<(long X0, long Y0, long X1, long Y1)> rectangles = Rectangles(slide);
        string path = Path.Combine(annotations, slideName + ".geojson");
        if (rectangles.Count == 0)
        {
            File.Delete(path);
            return;
        }

        File.WriteAllText(path, GeoJson(slide.Spec.ClassName, CategoricalPalette.For(Index(classes, slide.Spec.ClassName)), rectangles));
    }

    public static void WriteLegend(IReadOnlyList<string> classes, string folder)
    {
        Directory.CreateDirectory(folder);
        var legend = new
        {
            downsample = SyntheticSlide.LayoutCell,
            background = new[] { 255, 255, 255 },
            classes = classes.Select((c, i) => (c, CategoricalPalette.For(i))).ToDictionary(p => p.c, p => new[] { (int)p.Item2.R, p.Item2.G, p.Item2.B }),
        };
        File.WriteAllText(Path.Combine(folder, "legend.json"), JsonSerializer.Serialize(legend, IndentedJson));
    }

    private static int Index(IReadOnlyList<string> classes, string name)
    {
        for (int i = 0; i < classes.Count; i++)
        {
            if (classes[i] == name)
            {
                return i;
            }
        }

        return classes.Count;
    }

    // The slide's own-class cells as rectangles: runs along each row, each merged with the identical run of the row above.
    private static List<(long X0, long Y0, long X1, long Y1)> Rectangles(SyntheticSlide slide)
    {
        const int Cell = SyntheticSlide.LayoutCell;
        int w = (int)((slide.Spec.Width + Cell - 1) / Cell), h = (int)((slide.Spec.Height + Cell - 1) / Cell);
        var own = new bool[w * h];
        foreach ((int column, int row) in slide.OwnClassCells())
        {
            own[(row * w) + column] = true;
        }

        var rectangles = new List<(int C0, int C1, int R0, int R1)>();
        var open = new Dictionary<(int, int), int>();
        for (int row = 0; row <= h; row++)
        {
            var next = new Dictionary<(int, int), int>();
            for (int c = 0; row < h && c < w;)
            {
                if (!own[(row * w) + c])
                {
                    c++;
                    continue;
                }

                int start = c;
                while (c < w && own[(row * w) + c])
                {
                    c++;
                }

                next[(start, c - 1)] = open.TryGetValue((start, c - 1), out int top) ? top : row;
            }

            foreach (((int c0, int c1), int top) in open)
            {
                if (!next.ContainsKey((c0, c1)))
                {
                    rectangles.Add((c0, c1, top, row - 1));
                }
            }

            open = next;
        }

        long width = slide.Spec.Width, height = slide.Spec.Height;
        return rectangles
            .Select(r => ((long)r.C0 * Cell, (long)r.R0 * Cell, Math.Min(width, (long)(r.C1 + 1) * Cell), Math.Min(height, (long)(r.R1 + 1) * Cell)))
            .OrderBy(r => r.Item2).ThenBy(r => r.Item1)
            .ToList();
    }

    private static string GeoJson(string className, (byte R, byte G, byte B) colour, List<(long X0, long Y0, long X1, long Y1)> rectangles)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append("{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"id\":\"").Append(className).Append("-region\",");
        text.Append("\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[");
        for (int i = 0; i < rectangles.Count; i++)
        {
            (long x0, long y0, long x1, long y1) = rectangles[i];
            text.Append(i > 0 ? "," : string.Empty).Append(c, $"[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]");
        }

        text.Append("]},\"properties\":{\"objectType\":\"annotation\",\"classification\":{\"name\":").Append(JsonSerializer.Serialize(className));
        text.Append(c, $",\"color\":[{colour.R},{colour.G},{colour.B}]}}}}}}]}}\n");
        return text.ToString();
    }
}
