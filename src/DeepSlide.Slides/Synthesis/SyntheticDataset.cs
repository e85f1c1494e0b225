using System.Globalization;
using DeepSlide.Synthesis;
using nietras.SeparatedValues;

namespace DeepSlide.Slides.Synthesis;

public sealed record SyntheticDatasetOptions
{
    public int SlidesPerClass { get; init; } = 4;

    public long Width { get; init; } = 4096;

    public long Height { get; init; } = 3072;

    public SyntheticFormat Format { get; init; } = SyntheticFormat.Tiff;

    /// <summary>Every other non-benign slide gets this share of benign tissue; the rest are pure.</summary>
    public double BenignFraction { get; init; } = 0.25;

    public int Seed { get; init; } = 1;

    /// <summary>
    /// Every non-benign slide holds only 5-15% of its own class's tissue in otherwise benign tissue, as slides
    /// labelled from a small focus are; patch voting then struggles and attention MIL is needed.
    /// </summary>
    public bool Sparse { get; init; }

    /// <summary>Every non-benign slide holds 20-60% of its own class's tissue in otherwise benign tissue.</summary>
    public bool Mixed { get; init; }

    /// <summary>
    /// Where to write the region truth: <c>annotations/{slide}.geojson</c> (QuPath GeoJSON of the non-benign regions),
    /// <c>maps/{slide}.png</c> (a label map, one pixel per <see cref="SyntheticSlide.LayoutCell"/>) and
    /// <c>legend.json</c>. None when null.
    /// </summary>
    public string? TruthFolder { get; init; }

    public IReadOnlyList<string>? Classes { get; init; }

    /// <summary>Every colour shifted by this (R, G, B), as another lab's stain would; (0, 0, 0) keeps the usual colours.</summary>
    public (int R, int G, int B) StainShift { get; init; }
}

/// <summary>A labelled data set of synthetic slides in DeepSlide's layout: one folder per class, and labels.csv (img,gt).</summary>
public static class SyntheticDataset
{
    /// <summary>The slides a data set of these options holds, without writing them: the ground truth of every pixel.</summary>
    public static IReadOnlyList<(string ClassName, string FileName, SyntheticSlide Slide)> Specs(SyntheticDatasetOptions options)
    {
        IReadOnlyList<string> classes = options.Classes ?? TissueClassStyle.All.Select(s => s.Name).ToList();
        var specs = new List<(string, string, SyntheticSlide)>();
        var random = new Random(options.Seed);
        foreach (string className in classes)
        {
            for (int i = 0; i < options.SlidesPerClass; i++)
            {
                int seed = random.Next();
                bool benign = className == TissueClassStyle.Benign.Name;
                bool mixed = !benign && (options.Sparse || options.Mixed || i % 2 == 1);
                double benignShare = options.Sparse ? 0.85 + 0.10 * random.NextDouble()
                    : options.Mixed ? 0.40 + 0.40 * random.NextDouble()
                    : options.BenignFraction;
                var spec = new SyntheticSlideSpec(className, options.Width, options.Height, seed) { BenignFraction = mixed ? benignShare : 0, StainShift = options.StainShift };
                string name = string.Create(CultureInfo.InvariantCulture, $"{className}-{options.Seed}-{i:D3}{SyntheticSlideWriter.Extension(options.Format)}");
                specs.Add((className, name, new SyntheticSlide(spec)));
            }
        }

        return specs;
    }

    public static IReadOnlyList<(string Path, string ClassName)> Write(string folder, SyntheticDatasetOptions options, Action<string>? progress = null)
    {
        if (options.SlidesPerClass < 1)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, folder, "at least one slide per class is needed.");
        }

        var written = new List<(string, string)>();
        IReadOnlyList<string> classes = options.Classes ?? TissueClassStyle.All.Select(s => s.Name).ToList();
        foreach ((string className, string name, SyntheticSlide slide) in Specs(options))
        {
            if (options.TruthFolder is not null)
            {
                SyntheticTruth.Write(slide, Path.GetFileNameWithoutExtension(name), classes, options.TruthFolder);
            }

            string classFolder = Path.Combine(folder, className);
            Directory.CreateDirectory(classFolder);
            string path = Path.Combine(classFolder, name);
            SyntheticSlideWriter.Write(slide, path, options.Format);
            written.Add((path, className));
            progress?.Invoke($"  {className}/{name}{(slide.Spec.BenignFraction > 0 ? $" (benign share {slide.Spec.BenignFraction:0.##})" : string.Empty)}");
        }

        if (options.TruthFolder is not null)
        {
            SyntheticTruth.WriteLegend(classes, options.TruthFolder);
        }

        using (SepWriter labels = Sep.New(',').Writer(o => o with { Escape = true }).ToFile(Path.Combine(folder, "labels.csv")))
        {
            labels.Header.Add(["img", "gt"]);
            foreach ((string path, string className) in written)
            {
                using SepWriter.Row row = labels.NewRow();
                row["img"].Set(Path.GetFileName(path));
                row["gt"].Set(className);
            }
        }

        return written;
    }
}
