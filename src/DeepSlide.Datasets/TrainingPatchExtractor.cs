using System.Globalization;
using DeepSlide.Patches;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using DeepSlide.Tissue;

namespace DeepSlide.Datasets;

public sealed record PatchExtractionOptions
{
    public TilingOptions Tiling { get; init; } = new() { TissueMethod = TissueMethod.Purple };

    public double ValFraction { get; init; } = 0.2;

    public double TestFraction { get; init; } = 0.2;

    public int Seed { get; init; } = 0;

    /// <summary>Training patches wanted per class; by default the count of the largest class.</summary>
    public int? PatchesPerClass { get; init; }

    /// <summary>The most a minority class's windows may overlap (DeepSlide's overlap factor), before duplication makes up the rest.</summary>
    public double MaxOverlapFactor { get; init; } = 4;

    public int JpegQuality { get; init; } = 95;
}

public sealed record ClassExtraction(string ClassName, SplitPart Part, int Slides, double OverlapFactor, int Patches, int Duplicates, int RejectedByPurpleRule);

public sealed record ExtractionSummary(
    IReadOnlyList<SplitSlide> Split,
    IReadOnlyList<ClassExtraction> Classes,
    IReadOnlyList<string> SlidesWithoutTissue,
    IReadOnlyList<string> Ignored);

/// <summary>
/// DeepSlide's training-patch extraction: patches from each split's slides into <c>{split}/{class}/</c>; minority
/// classes of the training split are tiled with more overlap, then duplicated until the classes balance.
/// </summary>
public sealed class TrainingPatchExtractor(PatchExtractionOptions options)
{
    public async Task<ExtractionSummary> ExtractAsync(string inputFolder, string outputFolder, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Tiling.Validate();
        SlideDataset dataset = SlideDataset.Scan(inputFolder);
        IReadOnlyList<SplitSlide> split = DatasetSplit.Split(dataset, options.ValFraction, options.TestFraction, options.Seed);

        // First pass: plans at no overlap, to size each class and keep the masks for the second pass.
        var planned = new Dictionary<string, (TilePlan Plan, ResolvedResolution Resolution)>();
        foreach (SplitSlide s in split)
        {
            using ISlideReader reader = SlideReader.Open(s.Slide.Path);
            TilePlan plan = TilePlanner.Plan(reader, options.Tiling with { Stride = null });
            planned[s.Slide.Path] = (plan, options.Tiling.Resolution.Resolve(reader.Info));
        }

        var trainCounts = dataset.Classes.ToDictionary(c => c, c => split.Where(s => s.Part == SplitPart.Train && s.Slide.ClassName == c).Sum(s => planned[s.Slide.Path].Plan.Tiles.Count));
        foreach ((string className, int count) in trainCounts)
        {
            if (count == 0)
            {
                throw new DeepSlideException(DeepSlideErrorReason.NoTissue, Path.Combine(inputFolder, className), $"the training slides of class '{className}' have no tissue tiles.");
            }
        }

        int target = options.PatchesPerClass ?? trainCounts.Values.Max();
        var overlap = trainCounts.ToDictionary(kv => kv.Key, kv => Math.Clamp(Math.Sqrt(target / (double)kv.Value), 1, options.MaxOverlapFactor));

        var results = new List<ClassExtraction>();
        var noTissue = new List<string>();
        var manifest = new List<string> { "split,class,slide,x,y,tissue,file" };
        var extracted = new Dictionary<(SplitPart, string), List<string>>();
        foreach (SplitPart part in Enum.GetValues<SplitPart>())
        {
            foreach (string className in dataset.Classes)
            {
                List<SplitSlide> slides = split.Where(s => s.Part == part && s.Slide.ClassName == className).ToList();
                if (slides.Count == 0)
                {
                    continue;
                }

                double factor = part == SplitPart.Train ? overlap[className] : 1;
                string folder = Path.Combine(outputFolder, part.ToString().ToLowerInvariant(), className);
                Directory.CreateDirectory(folder);
                var files = new List<string>();
                int rejected = 0;
                foreach (SplitSlide s in slides)
                {
                    (TilePlan coarse, ResolvedResolution resolution) = planned[s.Slide.Path];
                    int stride = TileGrid.StrideFromOverlap(options.Tiling.Window, factor);
                    using ISlideReader reader = SlideReader.Open(s.Slide.Path);
                    TilePlan plan = stride == coarse.Stride
                        ? coarse
                        : TilePlanner.Plan(reader.Info, resolution, options.Tiling with { Stride = stride }, coarse.Mask!);
                    if (plan.IsEmpty)
                    {
                        noTissue.Add(s.Slide.Path);
                        continue;
                    }

                    await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, cancellationToken: cancellationToken))
                    {
                        using (patch)
                        {
                            if (options.Tiling.TissueMethod == TissueMethod.Purple && !PurpleRule.IsTissue(patch.Pixels, patch.Size))
                            {
                                rejected++;
                                continue;
                            }

                            string name = PatchFileName.Format(s.Slide.Name, patch.Tile.X, patch.Tile.Y);
                            string file = Path.Combine(folder, name);
                            ImageFiles.Save(patch.Pixels, patch.Size, patch.Size, file, options.JpegQuality);
                            files.Add(file);
                            manifest.Add(Csv(part, className, s.Slide.Name, patch.Tile.X, patch.Tile.Y, patch.Tile.TissueFraction, Path.GetRelativePath(outputFolder, file)));
                        }
                    }
                }

                results.Add(new ClassExtraction(className, part, slides.Count, factor, files.Count, 0, rejected));
                extracted[(part, className)] = files;
            }
        }

        // Balance the training split: copies of random patches until every class has as many as the largest.
        int balanced = options.PatchesPerClass ?? results.Where(r => r.Part == SplitPart.Train).Max(r => r.Patches);
        for (int i = 0; i < results.Count; i++)
        {
            ClassExtraction r = results[i];
            List<string> files = extracted[(r.Part, r.ClassName)];
            if (r.Part == SplitPart.Train && files.Count > 0 && files.Count < balanced)
            {
                var random = new Random(DatasetSplit.StableSeed(options.Seed, $"{r.ClassName}/duplicates"));
                int wanted = balanced - files.Count;
                for (int k = 0; k < wanted; k++)
                {
                    string source = files[random.Next(files.Count)];
                    PatchFileName.TryParse(source, out string slide, out long x, out long y);
                    string copy = Path.Combine(Path.GetDirectoryName(source)!, PatchFileName.Format(slide, x, y, duplicate: k + 1));
                    File.Copy(source, copy, overwrite: true);
                    manifest.Add(Csv(r.Part, r.ClassName, slide, x, y, float.NaN, Path.GetRelativePath(outputFolder, copy)));
                }

                results[i] = r with { Duplicates = wanted };
            }

            progress?.Invoke(string.Create(
                CultureInfo.InvariantCulture,
                $"  {r.Part.ToString().ToLowerInvariant(),-5} {r.ClassName,-20} slides {r.Slides,3}  overlap {r.OverlapFactor,4:0.00}  patches {r.Patches,6}  duplicated {results[i].Duplicates,5}"));
        }

        if (results.Where(r => r.Part == SplitPart.Train).Any(r => r.Patches == 0))
        {
            ClassExtraction empty = results.First(r => r.Part == SplitPart.Train && r.Patches == 0);
            throw new DeepSlideException(DeepSlideErrorReason.NoTissue, Path.Combine(inputFolder, empty.ClassName), $"no training patch of class '{empty.ClassName}' passed the tissue filter.");
        }

        Directory.CreateDirectory(outputFolder);
        await File.WriteAllLinesAsync(Path.Combine(outputFolder, "patches.csv"), manifest, cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(outputFolder, PatchTiling.FileName), PatchTiling.From(options.Tiling).ToJson(), cancellationToken);
        await File.WriteAllLinesAsync(
            Path.Combine(outputFolder, "slides.csv"),
            ["slide,class,split,path", .. split.Select(s => $"{s.Slide.Name},{s.Slide.ClassName},{s.Part.ToString().ToLowerInvariant()},{Path.GetFullPath(s.Slide.Path)}")],
            cancellationToken);
        return new ExtractionSummary(split, results, noTissue, dataset.Ignored);
    }

    private static string Csv(SplitPart part, string className, string slide, long x, long y, float tissue, string file) =>
        string.Create(CultureInfo.InvariantCulture, $"{part.ToString().ToLowerInvariant()},{Quote(className)},{Quote(slide)},{x},{y},{(float.IsNaN(tissue) ? string.Empty : tissue.ToString("0.###", CultureInfo.InvariantCulture))},{Quote(file)}");

    private static string Quote(string value) => value.Contains(',') || value.Contains('"') ? $"\"{value.Replace("\"", "\"\"")}\"" : value;
}
