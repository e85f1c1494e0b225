using System.Globalization;
using DeepSlide.Imaging;
using DeepSlide.Slides.Tiff;
using DeepSlide.Synthesis;

namespace DeepSlide.Slides.Synthesis;

public enum SyntheticFormat
{
    /// <summary>A generic tiled pyramidal TIFF (OpenSlide vendor "generic-tiff").</summary>
    Tiff,

    /// <summary>A tiled pyramidal TIFF with an Aperio ImageDescription (OpenSlide vendor "aperio", with mpp and objective power).</summary>
    Aperio,

    /// <summary>A flat JPEG, as DeepSlide's own data sets are.</summary>
    Jpeg,
}

/// <summary>Writes a <see cref="SyntheticSlide"/> to a file a slide reader can open.</summary>
public static class SyntheticSlideWriter
{
    public const double Mpp = 0.5;
    public const double ObjectivePower = 20;

    public static string Extension(SyntheticFormat format) => format switch
    {
        SyntheticFormat.Aperio => ".svs",
        SyntheticFormat.Jpeg => ".jpg",
        _ => ".tif",
    };

    public static void Write(SyntheticSlide slide, string path, SyntheticFormat format)
    {
        SyntheticSlideSpec spec = slide.Spec;
        switch (format)
        {
            case SyntheticFormat.Jpeg:
                if (spec.Width * spec.Height > 1L << 27)
                {
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, path, $"a flat JPEG of {spec.Width}x{spec.Height} px is too large; use a TIFF format.");
                }

                var image = new RgbImage((int)spec.Width, (int)spec.Height);
                Parallel.For(0, (image.Height + 255) / 256, band =>
                {
                    int y = band * 256, h = Math.Min(256, image.Height - y);
                    slide.Render(1, 0, y, image.Width, h, image.Pixels.AsSpan(y * image.Stride, h * image.Stride));
                });
                ImageFiles.Save(image, path, 90);
                break;
            default:
                PyramidalTiffWriter.Write(
                    path,
                    spec.Width,
                    spec.Height,
                    slide.Render,
                    new PyramidalTiffOptions
                    {
                        Mpp = Mpp,
                        ImageDescription = format == SyntheticFormat.Aperio ? AperioDescription(spec) : $"DeepSlide synthetic slide, class {spec.ClassName}",
                        Downsamples = Downsamples(spec.Width, spec.Height),
                        AssociatedImages = format == SyntheticFormat.Aperio ? [("label", Label(spec)), ("macro", Macro(slide))] : [],
                    });
                break;
        }
    }

    /// <summary>An Aperio SVS header: OpenSlide takes the vendor from its prefix and reads AppMag and MPP from the fields.</summary>
    public static string AperioDescription(SyntheticSlideSpec spec) => string.Create(
        CultureInfo.InvariantCulture,
        $"Aperio Image Library v12.0.15 \r\n{spec.Width}x{spec.Height} [0,0 {spec.Width}x{spec.Height}] (256x256) JPEG/RGB Q=85|AppMag = {ObjectivePower}|MPP = {Mpp}|Filename = synthetic-{spec.Seed}|Class = {spec.ClassName}");

    // A label: white with a bar code-like stripe pattern made from the seed, as a scanner photographs it.
    private static RgbImage Label(SyntheticSlideSpec spec)
    {
        RgbImage label = RgbImage.Filled(160, 120, 250, 250, 250);
        var random = new Random(spec.Seed);
        for (int x = 16; x < 144; x += 4)
        {
            byte v = random.Next(2) == 0 ? (byte)20 : (byte)250;
            for (int y = 30; y < 90; y++)
            {
                for (int k = 0; k < 4; k++)
                {
                    label[x + k, y] = (v, v, v);
                }
            }
        }

        return label;
    }

    // A macro: the whole slide at low resolution.
    private static RgbImage Macro(SyntheticSlide slide)
    {
        int downsample = 64;
        while (Math.Max(slide.Spec.Width, slide.Spec.Height) / downsample > 512)
        {
            downsample *= 2;
        }

        int w = (int)Math.Max(1, slide.Spec.Width / downsample), h = (int)Math.Max(1, slide.Spec.Height / downsample);
        var macro = new RgbImage(w, h);
        slide.Render(downsample, 0, 0, w, h, macro.Pixels);
        return macro;
    }

    // Levels at 1, 4, 16, ... until the smallest is under about 1,000 px, as scanners do.
    private static List<int> Downsamples(long width, long height)
    {
        var result = new List<int> { 1 };
        while (Math.Max(width, height) / result[^1] > 1024 && result[^1] < 256)
        {
            result.Add(result[^1] * 4);
        }

        return result;
    }
}
