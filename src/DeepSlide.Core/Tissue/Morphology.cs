namespace DeepSlide.Tissue;

/// <summary>Binary morphology with a square structuring element of side 2r + 1.</summary>
public static class Morphology
{
    public static bool[] Dilate(bool[] mask, int width, int height, int radius) => Filter(mask, width, height, radius, any: true);

    public static bool[] Erode(bool[] mask, int width, int height, int radius) => Filter(mask, width, height, radius, any: false);

    public static bool[] Open(bool[] mask, int width, int height, int radius) =>
        Dilate(Erode(mask, width, height, radius), width, height, radius);

    public static bool[] Close(bool[] mask, int width, int height, int radius) =>
        Erode(Dilate(mask, width, height, radius), width, height, radius);

    /// <summary>Clears 8-connected regions of fewer than <paramref name="minPixels"/> pixels, in place.</summary>
    public static void RemoveSmallRegions(bool[] mask, int width, int height, int minPixels)
    {
        if (minPixels <= 1)
        {
            return;
        }

        var visited = new bool[mask.Length];
        var region = new List<int>();
        var stack = new Stack<int>();
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || visited[start])
            {
                continue;
            }

            region.Clear();
            stack.Push(start);
            visited[start] = true;
            while (stack.Count > 0)
            {
                int p = stack.Pop();
                region.Add(p);
                int px = p % width, py = p / width;
                for (int dy = -1; dy <= 1; dy++)
                {
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int x = px + dx, y = py + dy;
                        if (x < 0 || y < 0 || x >= width || y >= height)
                        {
                            continue;
                        }

                        int q = y * width + x;
                        if (mask[q] && !visited[q])
                        {
                            visited[q] = true;
                            stack.Push(q);
                        }
                    }
                }
            }

            if (region.Count < minPixels)
            {
                foreach (int p in region)
                {
                    mask[p] = false;
                }
            }
        }
    }

    // Separable: a square element is a row pass then a column pass. Outside the image counts as background
    // for dilation's "any" and as foreground for erosion's "all", so borders neither grow nor shrink spuriously.
    private static bool[] Filter(bool[] mask, int width, int height, int radius, bool any)
    {
        if (radius <= 0)
        {
            return (bool[])mask.Clone();
        }

        var rows = new bool[mask.Length];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bool v = !any;
                for (int k = Math.Max(0, x - radius); k <= Math.Min(width - 1, x + radius); k++)
                {
                    if (mask[y * width + k] == any)
                    {
                        v = any;
                        break;
                    }
                }

                rows[y * width + x] = v;
            }
        }

        var result = new bool[mask.Length];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bool v = !any;
                for (int k = Math.Max(0, y - radius); k <= Math.Min(height - 1, y + radius); k++)
                {
                    if (rows[k * width + x] == any)
                    {
                        v = any;
                        break;
                    }
                }

                result[y * width + x] = v;
            }
        }

        return result;
    }
}
