using System.Text.Json;
using DeepSlide.Aggregation;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Visualization;

/// <summary>
/// A GeoJSON FeatureCollection QuPath imports: one detection per patch, a square in level-0 pixels, with its class
/// (name and colour) and the class probabilities as measurements; the tissue mask as one annotation; and each focus a
/// call rests on as an annotation named by the call, so a reviewer in QuPath finds a focus of one patch.
/// </summary>
public static class QuPathGeoJson
{
    public static void Write(Stream stream, TilePlan plan, PatchProbabilities patches, IReadOnlyDictionary<string, (byte R, byte G, byte B)>? colours = null, IReadOnlyList<SlideCall>? calls = null)
    {
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        json.WriteStartObject();
        json.WriteString("type", "FeatureCollection");
        json.WriteStartArray("features");
        double size = plan.TileSizeAtLevel0;
        for (int i = 0; i < patches.Count; i++)
        {
            Tile tile = plan.Tiles[i];
            (int cls, float confidence) = patches.Prediction(i);
            json.WriteStartObject();
            json.WriteString("type", "Feature");
            json.WriteStartObject("geometry");
            json.WriteString("type", "Polygon");
            json.WriteStartArray("coordinates");
            Ring(json, tile.X, tile.Y, tile.X + size, tile.Y + size);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartObject("properties");
            json.WriteString("objectType", "detection");
            Classification(json, patches.Classes[cls], cls, colours);
            json.WriteStartObject("measurements");
            json.WriteNumber("confidence", Math.Round(confidence, 6));
            ReadOnlySpan<float> row = patches.Row(i);
            for (int c = 0; c < row.Length; c++)
            {
                json.WriteNumber($"p_{patches.Classes[c]}", Math.Round(row[c], 6));
            }

            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        if (plan.Mask is { } mask)
        {
            TissueAnnotation(json, mask);
        }

        double cell = plan.StrideAtLevel0;
        foreach (SlideCall call in (calls ?? []).Where(c => c.Focus is not null))
        {
            FocusArea focus = call.Focus!;
            json.WriteStartObject();
            json.WriteString("type", "Feature");
            json.WriteStartObject("geometry");
            json.WriteString("type", "Polygon");
            json.WriteStartArray("coordinates");
            Ring(json, focus.Column * cell, focus.Row * cell, ((focus.Column + focus.Columns - 1) * cell) + size, ((focus.Row + focus.Rows - 1) * cell) + size);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartObject("properties");
            json.WriteString("objectType", "annotation");
            json.WriteString("name", $"{call.Method}: {call.Note}");
            if (focus.Class is string name && patches.Classes.ToList().IndexOf(name) is int index and >= 0)
            {
                Classification(json, name, index, colours);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    // The mask as a MultiPolygon of its row runs: exact, and simple enough for any GeoJSON reader.
    private static void TissueAnnotation(Utf8JsonWriter json, TissueMask mask)
    {
        json.WriteStartObject();
        json.WriteString("type", "Feature");
        json.WriteStartObject("geometry");
        json.WriteString("type", "MultiPolygon");
        json.WriteStartArray("coordinates");
        double d = mask.Downsample;
        for (int y = 0; y < mask.Height; y++)
        {
            for (int x = 0; x < mask.Width;)
            {
                if (!mask[x, y])
                {
                    x++;
                    continue;
                }

                int start = x;
                while (x < mask.Width && mask[x, y])
                {
                    x++;
                }

                json.WriteStartArray();
                Ring(json, start * d, y * d, x * d, (y + 1) * d);
                json.WriteEndArray();
            }
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartObject("properties");
        json.WriteString("objectType", "annotation");
        json.WriteString("name", "Tissue");
        json.WriteStartObject("classification");
        json.WriteString("name", "Tissue");
        json.WriteStartArray("color");
        json.WriteNumberValue(0);
        json.WriteNumberValue(170);
        json.WriteNumberValue(255);
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void Classification(Utf8JsonWriter json, string name, int index, IReadOnlyDictionary<string, (byte R, byte G, byte B)>? colours)
    {
        var colour = ClassColours.For(index, name, colours);
        json.WriteStartObject("classification");
        json.WriteString("name", name);
        json.WriteStartArray("color");
        json.WriteNumberValue(colour.Red);
        json.WriteNumberValue(colour.Green);
        json.WriteNumberValue(colour.Blue);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Ring(Utf8JsonWriter json, double x0, double y0, double x1, double y1)
    {
        json.WriteStartArray();
        foreach ((double x, double y) in new[] { (x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0) })
        {
            json.WriteStartArray();
            json.WriteNumberValue(Math.Round(x, 2));
            json.WriteNumberValue(Math.Round(y, 2));
            json.WriteEndArray();
        }

        json.WriteEndArray();
    }
}
