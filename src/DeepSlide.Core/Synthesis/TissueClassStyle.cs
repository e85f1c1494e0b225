namespace DeepSlide.Synthesis;

/// <summary>How one synthetic tissue class looks: stain colours, nuclei size and density, and lumens.</summary>
public sealed record TissueClassStyle(
    string Name,
    (byte R, byte G, byte B) Stroma,
    (byte R, byte G, byte B) Nucleus,
    double NucleusRadius,
    double NucleusElongation,
    double NucleiPer10kPixels,
    int LumenCount,
    double LumenRadius,
    (byte R, byte G, byte B) Lumen)
{
    /// <summary>Benign tissue: pale pink stroma, sparse small round nuclei around a few large glands.</summary>
    public static TissueClassStyle Benign { get; } = new("benign", (238, 178, 210), (105, 70, 155), 3.2, 1.0, 6, 3, 34, (246, 232, 240));

    /// <summary>Adenocarcinoma-like: crowded enlarged nuclei around many small irregular lumens, purple stroma.</summary>
    public static TissueClassStyle Adenocarcinoma { get; } = new("adenocarcinoma", (205, 140, 200), (70, 40, 130), 5.5, 1.3, 30, 14, 11, (236, 214, 236));

    /// <summary>Squamous-like: sheets of large elongated dark nuclei in red-pink keratinising cytoplasm.</summary>
    public static TissueClassStyle Squamous { get; } = new("squamous", (228, 120, 150), (55, 30, 95), 8, 1.8, 16, 4, 22, (250, 150, 170));

    /// <summary>The built-in classes, in sorted (class index) order.</summary>
    public static IReadOnlyList<TissueClassStyle> All { get; } = [Adenocarcinoma, Benign, Squamous];

    public static TissueClassStyle Get(string name) =>
        All.FirstOrDefault(s => s.Name == name)
        ?? throw new DeepSlideException(
            DeepSlideErrorReason.InvalidArgument,
            null,
            $"unknown synthetic class '{name}'; the classes are {string.Join(", ", All.Select(s => s.Name))}.");
}
