using System.Globalization;
using System.Text.RegularExpressions;

namespace DeepSlide.Datasets;

/// <summary>
/// Patch files are named <c>{slide}_{x}_{y}.jpg</c> (level-0 coordinates), with <c>_dup{k}</c> before the extension
/// for balancing copies. Parsing anchors at the end, so slide names may themselves contain '_' and '.'.
/// </summary>
public static partial class PatchFileName
{
    public static string Format(string slide, long x, long y, int duplicate = 0, string extension = ".jpg") =>
        string.Create(CultureInfo.InvariantCulture, $"{slide}_{x}_{y}{(duplicate > 0 ? $"_dup{duplicate}" : string.Empty)}{extension}");

    public static bool TryParse(string fileName, out string slide, out long x, out long y)
    {
        Match m = Pattern().Match(Path.GetFileName(fileName));
        slide = m.Success ? m.Groups["slide"].Value : string.Empty;
        x = m.Success ? long.Parse(m.Groups["x"].Value, CultureInfo.InvariantCulture) : 0;
        y = m.Success ? long.Parse(m.Groups["y"].Value, CultureInfo.InvariantCulture) : 0;
        return m.Success;
    }

    [GeneratedRegex(@"^(?<slide>.+)_(?<x>\d+)_(?<y>\d+)(?:_dup\d+)?\.[A-Za-z]+$")]
    private static partial Regex Pattern();
}
