namespace DeepSlide.Tissue;

public static class Otsu
{
    /// <summary>Otsu's threshold t: values &gt; t form the foreground, maximising the between-class variance.</summary>
    public static int Threshold(ReadOnlySpan<byte> values)
    {
        Span<long> histogram = stackalloc long[256];
        foreach (byte v in values)
        {
            histogram[v]++;
        }

        long total = values.Length;
        double sumAll = 0;
        for (int i = 0; i < 256; i++)
        {
            sumAll += i * (double)histogram[i];
        }

        double sumBackground = 0, best = -1;
        long weightBackground = 0;
        int threshold = 0;
        for (int t = 0; t < 256; t++)
        {
            weightBackground += histogram[t];
            if (weightBackground == 0)
            {
                continue;
            }

            long weightForeground = total - weightBackground;
            if (weightForeground == 0)
            {
                break;
            }

            sumBackground += t * (double)histogram[t];
            double meanBackground = sumBackground / weightBackground;
            double meanForeground = (sumAll - sumBackground) / weightForeground;
            double between = (double)weightBackground * weightForeground * (meanBackground - meanForeground) * (meanBackground - meanForeground);
            if (between > best)
            {
                best = between;
                threshold = t;
            }
        }

        return threshold;
    }
}
