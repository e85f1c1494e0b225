namespace DeepSlide.Tissue;

/// <summary>Binary morphology with a square structuring element of side 2r + 1.</summary>
public static class Morphology
{
    public static bool[] Dilate(bool[] mask, int width, int height, int radius) => Filter(mask, width, height, radius, dilate: true);

    public static bool[] Erode(bool[] mask, int width, int height, int radius) => Filter(mask, width, height, radius, dilate: false);

    public static bool[] Open(bool[] mask, int width, int height, int radius) =>
        Dilate(Erode(mask, width, height, radius), width, height, radius);

    /// <summary>Closing as if the image lay on an infinite background: padded, so objects at the border keep their shape.</summary>
    public static bool[] Close(bool[] mask, int width, int height, int radius)
    {
        if (radius <= 0)
        {
            return (bool[])mask.Clone();
        }

        int pw = width + 2 * radius, ph = height + 2 * radius;
        var padded = new bool[pw * ph];
        for (int y = 0; y < height; y++)
        {
            Array.Copy(mask, y * width, padded, (y + radius) * pw + radius, width);
        }

        bool[] closed = Erode(Dilate(padded, pw, ph, radius), pw, ph, radius);
        var result = new bool[mask.Length];
        for (int y = 0; y < height; y++)
        {
            Array.Copy(closed, (y + radius) * pw + radius, result, y * width, width);
        }

        return result;
    }

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

    // Separable: a square element is a row pass then a column pass. Outside the image is background, so
    // erosion clears pixels within the radius of the border.
    private static bool[] Filter(bool[] mask, int width, int height, int radius, bool dilate)
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
                rows[y * width + x] = Window(mask, y * width, 1, x, width, radius, dilate);
            }
        }

        var result = new bool[mask.Length];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                result[y * width + x] = Window(rows, x, width, y, height, radius, dilate);
            }
        }

        return result;
    }

    // Dilation: any pixel of the window is set. Erosion: the window lies inside the image and all of it is set.
    private static bool Window(bool[] values, int start, int step, int centre, int length, int radius, bool dilate)
    {
        int from = centre - radius, to = centre + radius;
        if (!dilate && (from < 0 || to >= length))
        {
            return false;
        }

        for (int k = Math.Max(0, from); k <= Math.Min(length - 1, to); k++)
        {
            if (values[start + k * step] == dilate)
            {
                return dilate;
            }
        }

        return !dilate;
    }
}
