using SkiaSharp;

namespace DeepSlide.Visualization;

/// <summary>
/// Class colours: the colour-blind-safe Okabe–Ito palette by class index (DeepSlide's own palette drew its second
/// class white, which cannot be seen on a slide), or the colour a class was given in QuPath when the model records one.
/// </summary>
public static class ClassColours
{
    public static IReadOnlyList<SKColor> Order { get; } = Imaging.CategoricalPalette.OkabeIto.Select(c => new SKColor(c.R, c.G, c.B)).ToList();

    public static SKColor For(int classIndex) => Order[classIndex % Order.Count];

    /// <summary>The colour of a named class: the given one when there is, else the palette's by index.</summary>
    public static SKColor For(int classIndex, string className, IReadOnlyDictionary<string, (byte R, byte G, byte B)>? given) =>
        given is not null && given.TryGetValue(className, out var c) ? new SKColor(c.R, c.G, c.B) : For(classIndex);

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
