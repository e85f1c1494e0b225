using System.Globalization;

namespace DeepSlide.Datasets;

/// <summary>Labelled slides to tune or evaluate on: a folder of class folders, or the validation rows of tiles' slides.csv.</summary>
public static class ValidationSlides
{
    /// <summary>The header of the slides.csv that 'deepslide tiles' writes; <c>labels</c> says where its patch labels came from.</summary>
    public const string Header = "slide,class,split,labels,path";

    private const string OldHeader = "slide,class,split,path";

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
        if (lines.Length == 0 || (lines[0] != Header && lines[0] != OldHeader))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"expected the header '{Header}' (the slides.csv written by 'deepslide tiles').");
        }

        int columns = lines[0].Split(',').Length;

        var slides = new List<LabelledSlide>();
        for (int i = 1; i < lines.Length; i++)
        {
            string[] cells = lines[i].Split(',', columns);
            if (cells.Length != columns)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, string.Create(CultureInfo.InvariantCulture, $"line {i + 1} does not have {columns} cells."));
            }

            if (cells[2] == split)
            {
                slides.Add(new LabelledSlide(cells[^1], cells[1]));
            }
        }

        return slides.Count > 0 ? slides : throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"no '{split}' slides are listed.");
    }
}
