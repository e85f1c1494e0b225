using DeepSlide.Slides;

namespace DeepSlide.Datasets;

public sealed record LabelledSlide(string Path, string ClassName)
{
    public string Name => System.IO.Path.GetFileNameWithoutExtension(Path);
}

/// <summary>
/// Slides in class subfolders (DeepSlide's layout): the classes are the sorted folder names. Class and slide names
/// may contain '_' and '.': nothing here parses them. What is not used (hidden folders, non-slide files) is listed in
/// <see cref="Ignored"/> so a caller can say so.
/// </summary>
public sealed class SlideDataset
{
    private SlideDataset(string folder, IReadOnlyList<string> classes, IReadOnlyList<LabelledSlide> slides, IReadOnlyList<string> ignored)
    {
        Folder = folder;
        Classes = classes;
        Slides = slides;
        Ignored = ignored;
    }

    public string Folder { get; }

    public IReadOnlyList<string> Classes { get; }

    public IReadOnlyList<LabelledSlide> Slides { get; }

    public IReadOnlyList<string> Ignored { get; }

    public static SlideDataset Scan(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, folder, "the data set folder does not exist.");
        }

        var ignored = new List<string>();
        var classes = new List<string>();
        var slides = new List<LabelledSlide>();
        foreach (string file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(file) != "labels.csv")
            {
                ignored.Add(file);
            }
        }

        foreach (string classFolder in Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(classFolder);
            if (name.StartsWith('.'))
            {
                ignored.Add(classFolder);
                continue;
            }

            var found = new List<LabelledSlide>();
            foreach (string entry in Directory.EnumerateFileSystemEntries(classFolder).Order(StringComparer.Ordinal))
            {
                bool isSlide = File.Exists(entry) && !Path.GetFileName(entry).StartsWith('.') && SlideReader.SlideExtensions.Contains(Path.GetExtension(entry));
                if (isSlide)
                {
                    found.Add(new LabelledSlide(entry, name));
                }
                else
                {
                    ignored.Add(entry);
                }
            }

            if (found.Count == 0)
            {
                throw new DeepSlideException(
                    DeepSlideErrorReason.InvalidDataset,
                    classFolder,
                    $"class folder '{name}' holds no slides (looked for {string.Join(", ", SlideReader.SlideExtensions.Order())}).");
            }

            classes.Add(name);
            slides.AddRange(found);
        }

        if (classes.Count == 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, folder, "the folder has no class subfolders; put each class's slides in a folder named after the class.");
        }

        if (classes.Count == 1)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, folder, $"the folder has a single class, '{classes[0]}'; a classifier needs at least two.");
        }

        var duplicates = slides.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicates is not null)
        {
            throw new DeepSlideException(
                DeepSlideErrorReason.InvalidDataset,
                duplicates.First().Path,
                $"slide name '{duplicates.Key}' appears {duplicates.Count()} times ({string.Join(", ", duplicates.Select(d => d.Path))}); patch file names would collide.");
        }

        return new SlideDataset(folder, classes, slides, ignored);
    }
}
