namespace DeepSlide.Annotations;

/// <summary>One annotated region: a polygon with optional holes, in level-0 pixels, and the class it was drawn as.</summary>
public sealed class AnnotatedRegion
{
    public AnnotatedRegion(string className, IReadOnlyList<IReadOnlyList<(double X, double Y)>> rings, string feature)
    {
        ClassName = className;
        Rings = rings;
        Feature = feature;
        var outer = rings[0];
        MinX = outer.Min(p => p.X);
        MaxX = outer.Max(p => p.X);
        MinY = outer.Min(p => p.Y);
        MaxY = outer.Max(p => p.Y);
        Area = Math.Abs(SignedArea(outer)) - rings.Skip(1).Sum(r => Math.Abs(SignedArea(r)));
    }

    public string ClassName { get; }

    /// <summary>The outer ring first, then the holes; each ring closed (first position equals last).</summary>
    public IReadOnlyList<IReadOnlyList<(double X, double Y)>> Rings { get; }

    /// <summary>Which feature of the file this came from ("feature 3 (id …)").</summary>
    public string Feature { get; }

    public double MinX { get; }

    public double MaxX { get; }

    public double MinY { get; }

    public double MaxY { get; }

    public double Area { get; }

    /// <summary>Even-odd rule over all rings, so a point in a hole is outside.</summary>
    public bool Contains(double x, double y)
    {
        if (x < MinX || x > MaxX || y < MinY || y > MaxY)
        {
            return false;
        }

        bool inside = false;
        foreach (var ring in Rings)
        {
            for (int i = 0, j = ring.Count - 1; i < ring.Count; j = i++)
            {
                (double xi, double yi) = ring[i];
                (double xj, double yj) = ring[j];
                if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
                {
                    inside = !inside;
                }
            }
        }

        return inside;
    }

    internal static double SignedArea(IReadOnlyList<(double X, double Y)> ring)
    {
        double sum = 0;
        for (int i = 0, j = ring.Count - 1; i < ring.Count; j = i++)
        {
            sum += (ring[j].X * ring[i].Y) - (ring[i].X * ring[j].Y);
        }

        return sum / 2;
    }
}

/// <summary>Where a patch's label came from.</summary>
public enum LabelSource
{
    /// <summary>DeepSlide's rule: every tissue patch of a slide carries the slide's label.</summary>
    Slide,

    /// <summary>Most of the patch's tissue lies inside annotations of that class.</summary>
    Annotation,

    /// <summary>Most of the patch's tissue lies outside every annotation, and an outside class was named.</summary>
    Outside,
}

/// <summary>A patch's label from region annotations, or none when no class holds most of its tissue.</summary>
public readonly record struct RegionLabel(string? ClassName, LabelSource Source, double Share);

/// <summary>
/// A slide's region annotations (QuPath's GeoJSON export, parsed by <see cref="GeoJsonAnnotations"/>). A point
/// inside regions of several classes takes the smallest region's class: nested annotations are the more specific.
/// </summary>
public sealed class RegionAnnotations
{
    /// <summary>Sample points per patch side when a patch's area, rather than a tissue mask, is labelled.</summary>
    public const int SamplesPerSide = 16;

    // Level-0 pixels per side of the index's cells: a point is tested only against the regions whose bounds meet its
    // cell, so labelling a slide's tiles does not scan every polygon of a file with hundreds of them.
    private const double IndexCell = 512;
    private readonly Dictionary<(long, long), List<AnnotatedRegion>> _index = [];

    public RegionAnnotations(IReadOnlyList<AnnotatedRegion> regions, IReadOnlyDictionary<string, (byte R, byte G, byte B)> colours)
    {
        Regions = regions.OrderBy(r => r.Area).ToList();
        Colours = colours;
        foreach (AnnotatedRegion region in Regions)
        {
            for (long j = Cell(region.MinY); j <= Cell(region.MaxY); j++)
            {
                for (long i = Cell(region.MinX); i <= Cell(region.MaxX); i++)
                {
                    if (!_index.TryGetValue((i, j), out List<AnnotatedRegion>? cell))
                    {
                        _index[(i, j)] = cell = [];
                    }

                    cell.Add(region);
                }
            }
        }
    }

    /// <summary>Smallest first: a point inside nested regions takes the innermost one's class.</summary>
    public IReadOnlyList<AnnotatedRegion> Regions { get; }

    /// <summary>Colours given by the annotations' QuPath classifications, by class.</summary>
    public IReadOnlyDictionary<string, (byte R, byte G, byte B)> Colours { get; }

    /// <summary>The class of the smallest region containing level-0 point (x, y), or null outside every region.</summary>
    public string? ClassAt(double x, double y)
    {
        if (_index.TryGetValue((Cell(x), Cell(y)), out List<AnnotatedRegion>? candidates))
        {
            foreach (AnnotatedRegion region in candidates)
            {
                if (region.Contains(x, y))
                {
                    return region.ClassName;
                }
            }
        }

        return null;
    }

    private static long Cell(double v) => (long)Math.Floor(v / IndexCell);

    /// <summary>
    /// The label of the level-0 square at (<paramref name="x"/>, <paramref name="y"/>) of side <paramref name="size"/>:
    /// class C when more than half of its sample points lie in regions of C; the outside class when more than half lie
    /// outside every region and <paramref name="outsideClass"/> is given; otherwise none (a mixed patch).
    /// <paramref name="isSampled"/> picks the points that count (the tissue ones, when a mask is at hand); without
    /// it an even grid of <see cref="SamplesPerSide"/>² points over the square counts. With a
    /// <paramref name="minAnnotatedShare"/> under one half, an annotated class that holds at least that share (the
    /// largest such) labels the patch even where the outside holds more: a small tumour focus then gives training
    /// patches where it meets normal tissue, as a pathologist would mark them.
    /// </summary>
    public RegionLabel LabelOf(double x, double y, double size, string? outsideClass, IEnumerable<(double X, double Y)>? isSampled = null, double minAnnotatedShare = 0.5)
    {
        IEnumerable<(double X, double Y)> points = isSampled ?? Grid(x, y, size);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        int outside = 0, total = 0;
        foreach ((double px, double py) in points)
        {
            total++;
            if (ClassAt(px, py) is string c)
            {
                counts[c] = counts.GetValueOrDefault(c) + 1;
            }
            else
            {
                outside++;
            }
        }

        if (total == 0)
        {
            return new RegionLabel(null, LabelSource.Annotation, 0);
        }

        foreach ((string c, int n) in counts)
        {
            if (2 * n > total)
            {
                return new RegionLabel(c, LabelSource.Annotation, n / (double)total);
            }
        }

        if (minAnnotatedShare < 0.5 && counts.Count > 0)
        {
            (string c, int n) = counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)).First();
            if (n >= minAnnotatedShare * total)
            {
                return new RegionLabel(c, LabelSource.Annotation, n / (double)total);
            }
        }

        return outsideClass is not null && 2 * outside > total
            ? new RegionLabel(outsideClass, LabelSource.Outside, outside / (double)total)
            : new RegionLabel(null, LabelSource.Annotation, Math.Max(outside, counts.Values.DefaultIfEmpty(0).Max()) / (double)total);
    }

    private static IEnumerable<(double X, double Y)> Grid(double x, double y, double size)
    {
        double step = size / SamplesPerSide;
        for (int j = 0; j < SamplesPerSide; j++)
        {
            for (int i = 0; i < SamplesPerSide; i++)
            {
                yield return (x + (i + 0.5) * step, y + (j + 0.5) * step);
            }
        }
    }
}
