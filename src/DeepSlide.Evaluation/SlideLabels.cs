namespace DeepSlide.Evaluation;

/// <summary>
/// Ground truth in DeepSlide's format, <c>img,gt</c>, keyed by slide name (the file name without extension). Any
/// further columns are pathologists' reads, named by their header.
/// </summary>
public sealed record SlideLabels(IReadOnlyDictionary<string, string> Truth, IReadOnlyList<string> Readers, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Reads)
{
    public static SlideLabels Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, path, "the labels file does not exist.");
        }

        string[] lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToArray();
        if (lines.Length == 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.EmptyFile, path, "the labels file is empty; it needs the header 'img,gt' and one line per slide.");
        }

        string[] header = lines.Length > 0 ? lines[0].Split(',').Select(h => h.Trim()).ToArray() : [];
        if (header.Length < 2 || header[0] != "img" || header[1] != "gt")
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, "the labels file must start with the header 'img,gt' (DeepSlide's format), then optional reader columns.");
        }

        string[] readers = header[2..];
        var truth = new Dictionary<string, string>(StringComparer.Ordinal);
        var reads = readers.ToDictionary(r => r, _ => new Dictionary<string, string>(StringComparer.Ordinal));
        for (int i = 1; i < lines.Length; i++)
        {
            string[] cells = lines[i].Split(',').Select(c => c.Trim()).ToArray();
            if (cells.Length != header.Length || cells[0].Length == 0 || cells[1].Length == 0)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"line {i + 1} has {cells.Length} cells or an empty img/gt; {header.Length} are expected.");
            }

            string slide = Path.GetFileNameWithoutExtension(cells[0]);
            if (!truth.TryAdd(slide, cells[1]))
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"slide '{slide}' is labelled twice (line {i + 1}).");
            }

            for (int r = 0; r < readers.Length; r++)
            {
                if (cells[2 + r].Length > 0)
                {
                    reads[readers[r]][slide] = cells[2 + r];
                }
            }
        }

        return new SlideLabels(truth, readers, reads.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, string>)kv.Value));
    }
}
