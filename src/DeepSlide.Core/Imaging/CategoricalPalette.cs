namespace DeepSlide.Imaging;

/// <summary>
/// Class colours: the Okabe–Ito colour-blind-safe palette (Okabe and Ito, 2008), ordered so the first three read as
/// tumour (vermillion), normal (green) and another tumour (blue). None is close to white or to a glass slide's
/// background, so every class shows on a slide.
/// </summary>
public static class CategoricalPalette
{
    public static IReadOnlyList<(byte R, byte G, byte B)> OkabeIto { get; } =
    [
        (213, 94, 0), (0, 158, 115), (0, 114, 178), (204, 121, 167), (230, 159, 0), (86, 180, 233), (240, 228, 66), (0, 0, 0),
    ];

    /// <summary>The colour of class <paramref name="classIndex"/>, from <paramref name="given"/> when it names the class.</summary>
    public static (byte R, byte G, byte B) For(int classIndex, string? className = null, IReadOnlyDictionary<string, (byte R, byte G, byte B)>? given = null) =>
        className is not null && given is not null && given.TryGetValue(className, out var colour) ? colour : OkabeIto[classIndex % OkabeIto.Count];
}
