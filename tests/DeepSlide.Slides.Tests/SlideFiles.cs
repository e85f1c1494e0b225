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

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    private string Write(string name, SyntheticFormat format)
    {
        string path = PathFor(name);
        SyntheticSlideWriter.Write(Slide, path, format);
        return path;
    }
}
