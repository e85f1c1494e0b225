using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;

namespace DeepSlide.Slides.Tests;

/// <summary>Synthetic slide files written once for a test class, in a temporary folder removed afterwards.</summary>
public sealed class SlideFiles : IDisposable
{
    public SlideFiles()
    {
        Folder = Directory.CreateTempSubdirectory("deepslide-slides-").FullName;
        Spec = new SyntheticSlideSpec("adenocarcinoma", 3000, 2200, Seed: 11) { BenignFraction = 0.3 };
        Slide = new SyntheticSlide(Spec);
        GenericTiff = Write("generic.tif", SyntheticFormat.Tiff);
        Aperio = Write("aperio.svs", SyntheticFormat.Aperio);
        Jpeg = Write("flat.jpg", SyntheticFormat.Jpeg);
    }

    public string Folder { get; }

    public SyntheticSlideSpec Spec { get; }

    public SyntheticSlide Slide { get; }

    public string GenericTiff { get; }

    public string Aperio { get; }

    public string Jpeg { get; }

    public string PathFor(string name) => System.IO.Path.Combine(Folder, name);

    /// <summary>The first level-0 rectangle, on a 100-pixel grid, that the synthetic slide drew as tissue throughout.</summary>
    public (long X, long Y) TissueRegion(int width, int height)
    {
        for (long y = 0; y + height < Spec.Height; y += 100)
        {
            for (long x = 0; x + width < Spec.Width; x += 100)
            {
                bool all = true;
                for (long dy = 0; dy <= height && all; dy += 20)
                {
                    for (long dx = 0; dx <= width && all; dx += 20)
                    {
                        all = Slide.IsTissue(x + dx, y + dy);
                    }
                }

                if (all)
                {
                    return (x / 4 * 4, y / 4 * 4);
                }
            }
        }

        throw new InvalidOperationException("The test slide has no tissue region that large.");
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private string Write(string name, SyntheticFormat format)
    {
        string path = PathFor(name);
        SyntheticSlideWriter.Write(Slide, path, format);
        return path;
    }
}
