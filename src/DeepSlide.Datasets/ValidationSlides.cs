using System.Globalization;

namespace DeepSlide.Datasets;

/// <summary>Labelled slides to tune or evaluate on: a folder of class folders, or the validation rows of tiles' slides.csv.</summary>
public static class ValidationSlides
{
    public static IReadOnlyList<LabelledSlide> Read(string path, string split = "val")
    {
        if (Directory.Exists(path))
        {
            return SlideDataset.Scan(path).Slides;
        }

        if (!File.Exists(path))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, path, "no such folder of class folders, or slides.csv.");
        }

        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != "slide,class,split,path")
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, "expected the header 'slide,class,split,path' (the slides.csv written by 'deepslide tiles').");
        }

        var slides = new List<LabelledSlide>();
        for (int i = 1; i < lines.Length; i++)
        {
            string[] cells = lines[i].Split(',', 4);
            if (cells.Length != 4)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, string.Create(CultureInfo.InvariantCulture, $"line {i + 1} does not have 4 cells."));
            }

            if (cells[2] == split)
            {
                slides.Add(new LabelledSlide(cells[3], cells[1]));
            }
        }

        return slides.Count > 0 ? slides : throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"no '{split}' slides are listed.");
    }
}
