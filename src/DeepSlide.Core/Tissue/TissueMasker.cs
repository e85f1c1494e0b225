using DeepSlide.Imaging;

namespace DeepSlide.Tissue;

public enum TissueMethod
{
    /// <summary>Otsu's threshold on HSV saturation, then morphological clean-up. The default for real slides.</summary>
    Otsu,

    /// <summary>DeepSlide's purple rule on cell means.</summary>
    Purple,
}

/// <summary>Turns a low-resolution picture of a whole slide into a tissue mask.</summary>
public abstract class TissueMasker
{
    public abstract TissueMethod Method { get; }

    /// <summary>The tissue fraction above which a tile is kept when the caller names none.</summary>
    public abstract double DefaultMinTissueFraction { get; }

    /// <param name="image">The slide at <paramref name="downsample"/> relative to level 0.</param>
    public abstract TissueMask Compute(RgbImage image, double downsample);

    public static TissueMasker Create(TissueMethod method) => method switch
    {
        TissueMethod.Otsu => new OtsuTissueMasker(),
        TissueMethod.Purple => new PurpleTissueMasker(),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown tissue method."),
    };

    public static TissueMethod ParseMethod(string name) => name.Trim().ToLowerInvariant() switch
    {
        "otsu" => TissueMethod.Otsu,
        "purple" or "deepslide" => TissueMethod.Purple,
        _ => throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"unknown tissue method '{name}'; use 'otsu' or 'purple'."),
    };
}

/// <summary>
/// DeepSlide's purple rule applied to every pixel of a picture whose pixels are the 14 x 14 cell means
/// (the slide at 14 times the tiling downsample). A tile's tissue fraction is then its share of purple cells.
/// </summary>
public sealed class PurpleTissueMasker : TissueMasker
{
    public override TissueMethod Method => TissueMethod.Purple;

    public override double DefaultMinTissueFraction => PurpleRule.MinTissueFraction;

    public override TissueMask Compute(RgbImage image, double downsample)
    {
        var mask = new bool[image.Width * image.Height];
        byte[] p = image.Pixels;
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] = PurpleRule.IsPurple(p[i * 3], p[i * 3 + 1], p[i * 3 + 2]);
        }

        return new TissueMask(image.Width, image.Height, downsample, mask);
    }
}

/// <summary>Otsu on saturation with a floor, closing then opening, then removal of specks.</summary>
public sealed class OtsuTissueMasker : TissueMasker
{
    /// <summary>Below this saturation nothing is tissue, so a blank slide's noise is never split in two.</summary>
    public double MinSaturation { get; init; } = 0.08;

    /// <summary>Radius, in mask pixels, of the closing and opening.</summary>
    public int MorphologyRadius { get; init; } = 1;

    /// <summary>Connected tissue regions smaller than this many mask pixels are dropped.</summary>
    public int MinRegionPixels { get; init; } = 6;

    public override TissueMethod Method => TissueMethod.Otsu;

    public override double DefaultMinTissueFraction => 0.25;

    public override TissueMask Compute(RgbImage image, double downsample)
    {
        byte[] p = image.Pixels;
        int n = image.Width * image.Height;
        var saturation = new byte[n];
        for (int i = 0; i < n; i++)
        {
            int r = p[i * 3], g = p[i * 3 + 1], b = p[i * 3 + 2];
            int max = Math.Max(r, Math.Max(g, b));
            int min = Math.Min(r, Math.Min(g, b));
            saturation[i] = max == 0 ? (byte)0 : (byte)((max - min) * 255 / max);
        }

        int threshold = Math.Max(Otsu.Threshold(saturation), (int)Math.Ceiling(MinSaturation * 255));
        var mask = new bool[n];
        for (int i = 0; i < n; i++)
        {
            mask[i] = saturation[i] > threshold;
        }

        mask = Morphology.Close(mask, image.Width, image.Height, MorphologyRadius);
        mask = Morphology.Open(mask, image.Width, image.Height, MorphologyRadius);
        Morphology.RemoveSmallRegions(mask, image.Width, image.Height, MinRegionPixels);
        return new TissueMask(image.Width, image.Height, downsample, mask);
    }
}
