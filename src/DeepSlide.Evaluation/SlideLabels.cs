using nietras.SeparatedValues;

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

        // Blank lines are allowed (hand-edited files end with some); fields may be quoted.
        string text = string.Join('\n', File.ReadAllLines(path).Where(l => l.Trim().Length > 0));
        if (text.Length == 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.EmptyFile, path, "the labels file is empty; it needs the header 'img,gt' and one line per slide.");
        }

        var truth = new Dictionary<string, string>(StringComparer.Ordinal);
        string[] readers;
        var reads = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        try
        {
            using SepReader reader = Sep.New(',').Reader(o => o with { Unescape = true, Trim = SepTrim.All, DisableColCountCheck = true }).FromText(text);
            string[] header = [.. reader.Header.ColNames];
            if (header.Length < 2 || header[0] != "img" || header[1] != "gt")
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, "the labels file must start with the header 'img,gt' (DeepSlide's format), then optional reader columns.");
            }

            readers = header[2..];
            foreach (string r in readers)
            {
                reads[r] = new Dictionary<string, string>(StringComparer.Ordinal);
            }

            foreach (SepReader.Row row in reader)
            {
                int line = row.LineNumberFrom;
                if (row.ColCount != header.Length || row[0].ToString().Length == 0 || row[1].ToString().Length == 0)
                {
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"line {line} has {row.ColCount} cells or an empty img/gt; {header.Length} are expected.");
                }

                string img = row[0].ToString(), gt = row[1].ToString();

                string slide = Path.GetFileNameWithoutExtension(img);
                if (!truth.TryAdd(slide, gt))
                {
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, $"slide '{slide}' is labelled twice (line {line}).");
                }

                for (int r = 0; r < readers.Length; r++)
                {
                    if (row[2 + r].ToString() is { Length: > 0 } read)
                    {
                        reads[readers[r]][slide] = read;
                    }
                }
            }
        }
        catch (InvalidDataException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, path, ex.Message);
        }

        return new SlideLabels(truth, readers, reads.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, string>)kv.Value));
    }
}
