namespace DeepSlide.Learning;

/// <summary>
/// Class activation maps (Zhou et al., 2016): a class's head weights applied to each position of the last
/// convolutional feature map. Its mean over the positions is the class's logit less the bias, because the
/// features the head sees are that map's mean.
/// </summary>
public static class ClassActivationMap
{
    /// <param name="featureMap">K x h x w, channel-major.</param>
    /// <param name="weights">The K head weights of one class.</param>
    public static float[] Compute(ReadOnlySpan<float> featureMap, ReadOnlySpan<float> weights, int height, int width)
    {
        int positions = height * width;
        if (featureMap.Length != weights.Length * positions)
        {
            throw new ArgumentException($"A feature map of {weights.Length} x {height} x {width} is needed.", nameof(featureMap));
        }

        var cam = new float[positions];
        for (int k = 0; k < weights.Length; k++)
        {
            float w = weights[k];
            ReadOnlySpan<float> channel = featureMap.Slice(k * positions, positions);
            for (int p = 0; p < positions; p++)
            {
                cam[p] += w * channel[p];
            }
        }

        return cam;
    }

    /// <summary>Bilinear upsampling of a small map to <paramref name="size"/> x <paramref name="size"/>, scaled to [0, 1].</summary>
    public static float[] Upsample(ReadOnlySpan<float> map, int height, int width, int size)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in map)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        float range = max - min > 1e-12f ? max - min : 1;
        var result = new float[size * size];
        for (int y = 0; y < size; y++)
        {
            // Pixel centres map onto cell centres, clamped at the border.
            float fy = Math.Clamp((y + 0.5f) * height / size - 0.5f, 0, height - 1);
            int y0 = (int)fy, y1 = Math.Min(height - 1, y0 + 1);
            float dy = fy - y0;
            for (int x = 0; x < size; x++)
            {
                float fx = Math.Clamp((x + 0.5f) * width / size - 0.5f, 0, width - 1);
                int x0 = (int)fx, x1 = Math.Min(width - 1, x0 + 1);
                float dx = fx - x0;
                float v = (map[y0 * width + x0] * (1 - dx) + map[y0 * width + x1] * dx) * (1 - dy)
                    + (map[y1 * width + x0] * (1 - dx) + map[y1 * width + x1] * dx) * dy;
                result[y * size + x] = (v - min) / range;
            }
        }

        return result;
    }
}
