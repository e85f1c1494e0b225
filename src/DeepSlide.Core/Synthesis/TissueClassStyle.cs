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
    // The classes overlap in stroma colour and nucleus density on purpose (and each slide shifts both, see
    // SyntheticSlide), so no single mean colour or density tells them apart: a classifier has to learn the shapes.

    /// <summary>Benign tissue: small round nuclei around a few large glands.</summary>
    public static TissueClassStyle Benign { get; } = new("benign", (228, 162, 204), (92, 58, 148), 3.6, 1.1, 15, 3, 30, (246, 232, 240));

    /// <summary>Adenocarcinoma-like: enlarged, slightly oval nuclei around many small irregular lumens.</summary>
    public static TissueClassStyle Adenocarcinoma { get; } = new("adenocarcinoma", (224, 158, 204), (84, 52, 140), 5.0, 1.4, 18, 12, 11, (240, 222, 238));

    /// <summary>Squamous-like: large elongated nuclei in sheets, with a few keratin pearls.</summary>
    public static TissueClassStyle Squamous { get; } = new("squamous", (228, 154, 196), (76, 46, 128), 6.5, 1.9, 16, 3, 18, (244, 176, 198));

    /// <summary>The built-in classes, in sorted (class index) order.</summary>
    public static IReadOnlyList<TissueClassStyle> All { get; } = [Adenocarcinoma, Benign, Squamous];

    public static TissueClassStyle Get(string name) =>
        All.FirstOrDefault(s => s.Name == name)
        ?? throw new DeepSlideException(
            DeepSlideErrorReason.InvalidArgument,
            null,
            $"unknown synthetic class '{name}'; the classes are {string.Join(", ", All.Select(s => s.Name))}.");
}
