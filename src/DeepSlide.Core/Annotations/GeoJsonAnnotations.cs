using System.Globalization;
using System.Text.Json;

namespace DeepSlide.Annotations;

/// <summary>
/// Reads region annotations as QuPath exports them: a FeatureCollection or a bare array of Features, each a
/// Polygon or MultiPolygon (holes allowed) in level-0 pixels, its class in <c>properties.classification.name</c>
/// and optionally its colour in <c>properties.classification.color</c> ([r, g, b]) or <c>colorRGB</c> (packed).
/// Every problem is one error naming the file and the feature.
/// </summary>
public static class GeoJsonAnnotations
{
    /// <summary>
    /// Parses <paramref name="json"/>; <paramref name="source"/> names it in errors. Coordinates must lie within the
    /// slide (<paramref name="slideWidth"/> x <paramref name="slideHeight"/>, one pixel of slack) when given; class
    /// names must be among <paramref name="knownClasses"/> when given.
    /// </summary>
    public static RegionAnnotations Parse(string json, string source, long? slideWidth = null, long? slideHeight = null, IReadOnlyCollection<string>? knownClasses = null)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw Error(source, $"not valid JSON: {ex.Message}");
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            JsonElement features = root.ValueKind switch
            {
                JsonValueKind.Array => root,
                JsonValueKind.Object when Str(root, "type") == "FeatureCollection" && root.TryGetProperty("features", out JsonElement f) && f.ValueKind == JsonValueKind.Array => f,
                JsonValueKind.Object when Str(root, "type") == "Feature" => throw Error(source, "a single Feature; QuPath exports a FeatureCollection or an array of Features."),
                _ => throw Error(source, "expected a GeoJSON FeatureCollection or an array of Features."),
            };

            var regions = new List<AnnotatedRegion>();
            var colours = new Dictionary<string, (byte, byte, byte)>(StringComparer.Ordinal);
            int index = 0;
            foreach (JsonElement feature in features.EnumerateArray())
            {
                string name = FeatureName(feature, index++);
                if (feature.ValueKind != JsonValueKind.Object || Str(feature, "type") != "Feature")
                {
                    throw Error(source, $"{name} is not a GeoJSON Feature.");
                }

                (string className, (byte, byte, byte)? colour) = Classification(feature, source, name);
                if (knownClasses is not null && !knownClasses.Contains(className))
                {
                    throw Error(source, $"{name} has class '{className}', which is not one of the classes ({string.Join(", ", knownClasses)}).");
                }

                if (colour is { } c)
                {
                    colours.TryAdd(className, c);
                }

                if (!feature.TryGetProperty("geometry", out JsonElement geometry) || geometry.ValueKind != JsonValueKind.Object)
                {
                    throw Error(source, $"{name} has no geometry.");
                }

                string? type = Str(geometry, "type");
                if (!geometry.TryGetProperty("coordinates", out JsonElement coordinates) || coordinates.ValueKind != JsonValueKind.Array)
                {
                    throw Error(source, $"{name} has a {type ?? "untyped"} geometry without coordinates.");
                }

                switch (type)
                {
                    case "Polygon":
                        regions.Add(Polygon(coordinates, className, source, name, slideWidth, slideHeight));
                        break;
                    case "MultiPolygon":
                        int part = 0;
                        foreach (JsonElement polygon in coordinates.EnumerateArray())
                        {
                            regions.Add(Polygon(polygon, className, source, $"{name}, polygon {part++}", slideWidth, slideHeight));
                        }

                        if (part == 0)
                        {
                            throw Error(source, $"{name} is an empty MultiPolygon.");
                        }

                        break;
                    default:
                        throw Error(source, $"{name} is a {type ?? "untyped"} geometry; region annotations must be Polygon or MultiPolygon.");
                }
            }

            return new RegionAnnotations(regions, colours);
        }
    }

    private static string FeatureName(JsonElement feature, int index)
    {
        string? id = feature.ValueKind == JsonValueKind.Object && feature.TryGetProperty("id", out JsonElement e) ? e.ToString() : null;
        return string.IsNullOrEmpty(id) ? $"feature {index}" : $"feature {index} (id '{id}')";
    }

    private static (string Name, (byte, byte, byte)? Colour) Classification(JsonElement feature, string source, string name)
    {
        if (!feature.TryGetProperty("properties", out JsonElement properties) || properties.ValueKind != JsonValueKind.Object
            || !properties.TryGetProperty("classification", out JsonElement classification) || classification.ValueKind != JsonValueKind.Object
            || Str(classification, "name") is not string className || className.Trim().Length == 0)
        {
            throw Error(source, $"{name} has no class: properties.classification.name is missing (classify the annotation in QuPath before exporting).");
        }

        (byte, byte, byte)? colour = null;
        if (classification.TryGetProperty("color", out JsonElement rgb) && rgb.ValueKind == JsonValueKind.Array && rgb.GetArrayLength() == 3
            && rgb.EnumerateArray().All(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int k) && k is >= 0 and <= 255))
        {
            int[] v = rgb.EnumerateArray().Select(x => x.GetInt32()).ToArray();
            colour = ((byte)v[0], (byte)v[1], (byte)v[2]);
        }
        else if (classification.TryGetProperty("colorRGB", out JsonElement packed) && packed.ValueKind == JsonValueKind.Number && packed.TryGetInt64(out long p))
        {
            colour = ((byte)(p >> 16), (byte)(p >> 8), (byte)p);
        }

        return (className, colour);
    }

    private static AnnotatedRegion Polygon(JsonElement rings, string className, string source, string name, long? width, long? height)
    {
        if (rings.ValueKind != JsonValueKind.Array || rings.GetArrayLength() == 0)
        {
            throw Error(source, $"{name} is a polygon without rings.");
        }

        var parsed = new List<IReadOnlyList<(double, double)>>();
        int r = 0;
        foreach (JsonElement ring in rings.EnumerateArray())
        {
            string ringName = r++ == 0 ? "its outer ring" : $"hole {r - 1}";
            if (ring.ValueKind != JsonValueKind.Array)
            {
                throw Error(source, $"{name}: {ringName} is not an array of positions.");
            }

            var points = new List<(double, double)>();
            foreach (JsonElement position in ring.EnumerateArray())
            {
                if (position.ValueKind != JsonValueKind.Array || position.GetArrayLength() < 2
                    || position[0].ValueKind != JsonValueKind.Number || position[1].ValueKind != JsonValueKind.Number)
                {
                    throw Error(source, $"{name}: {ringName} has a position that is not [x, y].");
                }

                double x = position[0].GetDouble(), y = position[1].GetDouble();
                if (!double.IsFinite(x) || !double.IsFinite(y))
                {
                    throw Error(source, $"{name}: {ringName} has a non-finite coordinate.");
                }

                if ((width is long w && (x < -1 || x > w + 1)) || (height is long h && (y < -1 || y > h + 1)))
                {
                    throw Error(source, string.Create(CultureInfo.InvariantCulture, $"{name}: position ({x}, {y}) lies outside the slide ({width} x {height} px at level 0); annotations must be in level-0 pixels of this slide."));
                }

                points.Add((x, y));
            }

            if (points.Count < 4)
            {
                throw Error(source, $"{name}: {ringName} has {points.Count} position(s); a GeoJSON ring needs at least 4.");
            }

            if (points[0] != points[^1])
            {
                throw Error(source, $"{name}: {ringName} is not closed (its first and last positions differ).");
            }

            if (Math.Abs(AnnotatedRegion.SignedArea(points)) < 1e-9)
            {
                throw Error(source, $"{name}: {ringName} encloses no area.");
            }

            parsed.Add(points);
        }

        return new AnnotatedRegion(className, parsed, name);
    }

    private static string? Str(JsonElement element, string property) =>
        element.TryGetProperty(property, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DeepSlideException Error(string source, string problem) => new(DeepSlideErrorReason.InvalidDataset, source, problem);
}
