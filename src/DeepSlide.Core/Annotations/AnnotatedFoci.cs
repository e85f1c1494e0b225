namespace DeepSlide.Annotations;

/// <summary>One focus: annotated regions of one class that touch or overlap, with their summed area.</summary>
public sealed record AnnotatedFocus(string ClassName, IReadOnlyList<AnnotatedRegion> Regions, double Area)
{
    /// <summary>Whether a square patch (level-0 corner and side) lies over the focus: any of 5 x 5 points across it is inside one of its regions.</summary>
    public bool Under(double x, double y, double size)
    {
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                double px = x + ((i + 0.5) * size / 5), py = y + ((j + 0.5) * size / 5);
                if (Regions.Any(r => r.Contains(px, py)))
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>
/// A slide's foci from its annotations: regions of one class whose bounds touch or overlap form one focus (a tumour
/// drawn as several polygons, or written as rectangles by <c>synth</c>, is one focus). What a pathologist asks of a
/// slide with a small tumour: was its largest focus found?
/// </summary>
public static class AnnotatedFoci
{
    public static IReadOnlyList<AnnotatedFocus> Of(RegionAnnotations annotations, string? outsideClass)
    {
        var regions = annotations.Regions.Where(r => r.ClassName != outsideClass).ToList();
        int[] parent = [.. Enumerable.Range(0, regions.Count)];
        int Find(int i) => parent[i] == i ? i : parent[i] = Find(parent[i]);
        for (int a = 0; a < regions.Count; a++)
        {
            for (int b = a + 1; b < regions.Count; b++)
            {
                AnnotatedRegion ra = regions[a], rb = regions[b];
                bool touch = ra.ClassName == rb.ClassName && ra.MinX <= rb.MaxX && rb.MinX <= ra.MaxX && ra.MinY <= rb.MaxY && rb.MinY <= ra.MaxY;
                if (touch)
                {
                    parent[Find(a)] = Find(b);
                }
            }
        }

        return regions.Select((r, i) => (Root: Find(i), Region: r))
            .GroupBy(p => p.Root)
            .Select(g => new AnnotatedFocus(g.First().Region.ClassName, [.. g.Select(p => p.Region)], g.Sum(p => p.Region.Area)))
            .OrderByDescending(f => f.Area)
            .ToList();
    }
}
