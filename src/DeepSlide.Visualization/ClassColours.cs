using SkiaSharp;

namespace DeepSlide.Visualization;

/// <summary>
/// DeepSlide's class colour order (red, white, blue, green, purple, orange, black, pink, yellow), with a purple
/// that is purple: DeepSlide's own "purple" entry draws yellow.
/// </summary>
public static class ClassColours
{
    public static IReadOnlyList<SKColor> Order { get; } =
    [
        new(220, 30, 30), new(255, 255, 255), new(30, 80, 220), new(30, 160, 60), new(128, 0, 160),
        new(255, 140, 0), new(0, 0, 0), new(255, 105, 180), new(240, 220, 0),
    ];

    public static SKColor For(int classIndex) => Order[classIndex % Order.Count];

    /// <summary>Viridis-like ramp for probabilities in [0, 1]: dark blue through green to yellow.</summary>
    public static SKColor Ramp(double value)
    {
        (double T, byte R, byte G, byte B)[] stops = [(0, 68, 1, 84), (0.25, 59, 82, 139), (0.5, 33, 145, 140), (0.75, 94, 201, 98), (1, 253, 231, 37)];
        value = Math.Clamp(value, 0, 1);
        for (int i = 1; i < stops.Length; i++)
        {
            if (value <= stops[i].T)
            {
                double f = (value - stops[i - 1].T) / (stops[i].T - stops[i - 1].T);
                return new SKColor(Lerp(stops[i - 1].R, stops[i].R, f), Lerp(stops[i - 1].G, stops[i].G, f), Lerp(stops[i - 1].B, stops[i].B, f));
            }
        }

        return new SKColor(stops[^1].R, stops[^1].G, stops[^1].B);
    }

    private static byte Lerp(byte a, byte b, double f) => (byte)Math.Round(a + (b - a) * f);
}
