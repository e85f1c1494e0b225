namespace DeepSlide.Training;

/// <summary>Patches laid out by <c>deepslide tiles</c>: <c>{root}/{split}/{class}/*.jpg</c>. Classes are train's sorted folders.</summary>
public sealed class PatchFolders
{
    private PatchFolders(IReadOnlyList<string> classes, IReadOnlyList<(string File, int Label)> train, IReadOnlyList<(string File, int Label)> val)
    {
        Classes = classes;
        Train = train;
        Val = val;
    }

    public IReadOnlyList<string> Classes { get; }

    public IReadOnlyList<(string File, int Label)> Train { get; }

    public IReadOnlyList<(string File, int Label)> Val { get; }

    public static PatchFolders Scan(string root)
    {
        string trainFolder = Path.Combine(root, "train");
        if (!Directory.Exists(trainFolder))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, root, "there is no train/ folder; run 'deepslide tiles' first, or point at its output.");
        }

        List<string> classes = Directory.GetDirectories(trainFolder).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Order(StringComparer.Ordinal).ToList()!;
        if (classes.Count < 2)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, trainFolder, $"found {classes.Count} class folder(s); at least two are needed.");
        }

        var train = Files(trainFolder, classes, required: true);
        string valFolder = Path.Combine(root, "val");
        var val = Directory.Exists(valFolder) ? Files(valFolder, classes, required: false) : [];
        return new PatchFolders(classes, train, val);
    }

    private static List<(string, int)> Files(string folder, List<string> classes, bool required)
    {
        var files = new List<(string, int)>();
        foreach (string extra in Directory.GetDirectories(folder).Select(Path.GetFileName).Where(n => !classes.Contains(n!) && !n!.StartsWith('.'))!)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, Path.Combine(folder, extra), $"class '{extra}' is not among the training classes ({string.Join(", ", classes)}).");
        }

        for (int label = 0; label < classes.Count; label++)
        {
            string classFolder = Path.Combine(folder, classes[label]);
            string[] found = Directory.Exists(classFolder)
                ? Directory.GetFiles(classFolder).Where(f => Path.GetExtension(f).ToLowerInvariant() is ".jpg" or ".jpeg" or ".png").Order(StringComparer.Ordinal).ToArray()
                : [];
            if (found.Length == 0 && required)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, classFolder, $"class '{classes[label]}' has no training patches.");
            }

            files.AddRange(found.Select(f => (f, label)));
        }

        return files;
    }
}
