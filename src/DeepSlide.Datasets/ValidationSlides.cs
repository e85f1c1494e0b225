using nietras.SeparatedValues;

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

        var slides = new List<LabelledSlide>();
        try
        {
            using SepReader reader = Sep.New(',').Reader(o => o with { Unescape = true, DisableColCountCheck = true }).FromFile(path);
            string header = string.Join(',', reader.Header.ColNames);
            if (header != Header && header != OldHeader)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"expected the header '{Header}' (the slides.csv written by 'deepslide tiles').");
            }

            int columns = reader.Header.ColNames.Count;
            foreach (SepReader.Row row in reader)
            {
                if (row.ColCount != columns)
                {
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"line {row.LineNumberFrom} does not have {columns} cells.");
                }

                if (row["split"].ToString() == split)
                {
                    slides.Add(new LabelledSlide(row["path"].ToString(), row["class"].ToString()));
                }
            }
        }
        catch (InvalidDataException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, ex.Message);
        }

        return slides.Count > 0 ? slides : throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"no '{split}' slides are listed.");
    }
}
