using System.Globalization;
using DeepSlide.Annotations;
using DeepSlide.Patches;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using DeepSlide.Tissue;
using nietras.SeparatedValues;

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

    /// <summary>
    /// A folder of QuPath GeoJSON region annotations, <c>{slide name}.geojson</c>. A slide with a file gets its
    /// patches' labels from the regions; a slide without one keeps DeepSlide's rule (the slide's label).
    /// </summary>
    public string? AnnotationsFolder { get; init; }

    /// <summary>The class of tissue outside every annotation on an annotated slide; such patches are left out when null.</summary>
    public string? OutsideClass { get; init; }

    /// <summary>The least share of a patch's tissue that makes it an annotated class's patch; 0.5 asks for a majority.</summary>
    public double MinAnnotatedShare { get; init; } = 0.5;
}

public sealed record ClassExtraction(string ClassName, SplitPart Part, int Slides, double OverlapFactor, int Patches, int Duplicates, int RejectedByPurpleRule);

public sealed record ExtractionSummary(
    IReadOnlyList<SplitSlide> Split,
    IReadOnlyList<ClassExtraction> Classes,
    IReadOnlyList<string> SlidesWithoutTissue,
    IReadOnlyList<string> Ignored)
{
    /// <summary>Slides whose patches were labelled from region annotations.</summary>
    public IReadOnlyList<string> Annotated { get; init; } = [];

    /// <summary>Tissue patches of annotated slides left out because no class held most of their tissue.</summary>
    public int LeftOutMixed { get; init; }
}

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

        if (options.OutsideClass is string outside && !dataset.Classes.Contains(outside))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, inputFolder, $"--outside names class '{outside}', which is not one of the classes ({string.Join(", ", dataset.Classes)}).");
        }

        if (options.AnnotationsFolder is string annotationsFolder && !Directory.Exists(annotationsFolder))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, annotationsFolder, "the annotations folder does not exist.");
        }

        // First pass: plans at no overlap, to size each class and keep the masks for the second pass.
        var planned = new Dictionary<string, (TilePlan Plan, ResolvedResolution Resolution, PatchLabeller Labeller)>();
        foreach (SplitSlide s in split)
        {
            using ISlideReader reader = SlideReader.Open(s.Slide.Path);
            TilePlan plan = TilePlanner.Plan(reader, options.Tiling with { Stride = null });
            planned[s.Slide.Path] = (plan, options.Tiling.Resolution.Resolve(reader.Info), PatchLabeller.For(s.Slide, reader.Info, dataset.Classes, options));
        }

        var trainCounts = dataset.Classes.ToDictionary(c => c, _ => 0);
        foreach (SplitSlide s in split.Where(s => s.Part == SplitPart.Train))
        {
            (TilePlan plan, _, PatchLabeller labeller) = planned[s.Slide.Path];
            foreach (Tile tile in plan.Tiles)
            {
                if (labeller.Label(tile, plan).ClassName is string c)
                {
                    trainCounts[c]++;
                }
            }
        }

        foreach ((string className, int count) in trainCounts)
        {
            if (count == 0)
            {
                throw new DeepSlideException(DeepSlideErrorReason.NoTissue, Path.Combine(inputFolder, className), $"the training slides have no tissue tiles of class '{className}'.");
            }
        }

        int target = options.PatchesPerClass ?? trainCounts.Values.Max();
        var overlap = trainCounts.ToDictionary(kv => kv.Key, kv => Math.Clamp(Math.Sqrt(target / (double)kv.Value), 1, options.MaxOverlapFactor));

        var noTissue = new List<string>();
        var manifest = new List<string[]>();
        var extracted = new Dictionary<(SplitPart, string), List<string>>();
        var slidesOf = new Dictionary<(SplitPart, string), HashSet<string>>();
        var rejectedOf = new Dictionary<(SplitPart, string), int>();
        var sourceOf = new Dictionary<string, LabelSource>(StringComparer.Ordinal);
        int leftOut = 0;
        foreach (SplitPart part in Enum.GetValues<SplitPart>())
        {
            foreach (SplitSlide s in split.Where(s => s.Part == part))
            {
                (TilePlan coarse, ResolvedResolution resolution, PatchLabeller labeller) = planned[s.Slide.Path];
                double factor = part == SplitPart.Train ? overlap[s.Slide.ClassName] : 1;
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

                var labels = new Dictionary<int, RegionLabel>();
                var wanted = new List<Tile>();
                var thinning = new Random(DatasetSplit.StableSeed(options.Seed, $"{s.Slide.Name}/thinning"));
                foreach (Tile tile in plan.Tiles)
                {
                    RegionLabel label = labeller.Label(tile, plan);
                    if (label.ClassName is null)
                    {
                        leftOut++;
                        continue;
                    }

                    // A mixed slide is cut at its own class's overlap; its patches of a class that needs less (benign
                    // tissue on a tumour slide) are thinned back to that class's density, so they do not swamp the set.
                    if (part == SplitPart.Train && label.ClassName != s.Slide.ClassName)
                    {
                        double own = TileGrid.StrideFromOverlap(options.Tiling.Window, overlap[label.ClassName]);
                        if (thinning.NextDouble() > Math.Min(1, (stride / own) * (stride / own)))
                        {
                            continue;
                        }
                    }

                    labels[wanted.Count] = label;
                    wanted.Add(tile with { Index = wanted.Count });
                }

                if (wanted.Count == 0)
                {
                    continue;
                }

                await foreach (Patch patch in PatchStream.ReadAsync(reader, plan with { Tiles = wanted }, cancellationToken: cancellationToken))
                {
                    using (patch)
                    {
                        RegionLabel label = labels[patch.Tile.Index];
                        string className = label.ClassName!;
                        if (options.Tiling.TissueMethod == TissueMethod.Purple && !PurpleRule.IsTissue(patch.Pixels, patch.Size))
                        {
                            rejectedOf[(part, className)] = rejectedOf.GetValueOrDefault((part, className)) + 1;
                            continue;
                        }

                        string folder = Path.Combine(outputFolder, part.ToString().ToLowerInvariant(), className);
                        if (!extracted.TryGetValue((part, className), out List<string>? files))
                        {
                            Directory.CreateDirectory(folder);
                            extracted[(part, className)] = files = [];
                            slidesOf[(part, className)] = [];
                        }

                        string name = PatchFileName.Format(s.Slide.Name, patch.Tile.X, patch.Tile.Y);
                        string file = Path.Combine(folder, name);
                        ImageFiles.Save(patch.Pixels, patch.Size, patch.Size, file, options.JpegQuality);
                        files.Add(file);
                        sourceOf[file] = label.Source;
                        slidesOf[(part, className)].Add(s.Slide.Name);
                        manifest.Add(Csv(part, className, s.Slide.Name, patch.Tile.X, patch.Tile.Y, patch.Tile.TissueFraction, Path.GetRelativePath(outputFolder, file), label.Source));
                    }
                }
            }
        }

        var results = new List<ClassExtraction>();
        foreach (SplitPart part in Enum.GetValues<SplitPart>())
        {
            foreach (string className in dataset.Classes)
            {
                if (extracted.TryGetValue((part, className), out List<string>? files))
                {
                    double factor = part == SplitPart.Train ? overlap[className] : 1;
                    results.Add(new ClassExtraction(className, part, slidesOf[(part, className)].Count, factor, files.Count, 0, rejectedOf.GetValueOrDefault((part, className))));
                }
                else if (part == SplitPart.Train)
                {
                    results.Add(new ClassExtraction(className, part, 0, overlap[className], 0, 0, rejectedOf.GetValueOrDefault((part, className))));
                    extracted[(part, className)] = [];
                }
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
                    manifest.Add(Csv(r.Part, r.ClassName, slide, x, y, float.NaN, Path.GetRelativePath(outputFolder, copy), sourceOf[source]));
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
        WriteCsv(Path.Combine(outputFolder, "patches.csv"), ["split", "class", "slide", "x", "y", "tissue", "file", "label_source"], manifest);
        var colours = new Dictionary<string, IReadOnlyList<int>>(StringComparer.Ordinal);
        foreach (var labeller in planned.Values.Select(p => p.Labeller).Where(l => l.Annotations is not null))
        {
            foreach ((string c, (byte r, byte g, byte b)) in labeller.Annotations!.Colours)
            {
                colours.TryAdd(c, [r, g, b]);
            }
        }

        bool anyAnnotated = planned.Values.Any(p => p.Labeller.Annotations is not null);
        PatchTiling tiling = PatchTiling.From(options.Tiling) with { Colours = colours.Count > 0 ? colours : null, Labels = anyAnnotated ? "annotations" : "slide" };
        await File.WriteAllTextAsync(Path.Combine(outputFolder, PatchTiling.FileName), tiling.ToJson(), cancellationToken);
        WriteCsv(
            Path.Combine(outputFolder, "slides.csv"),
            ValidationSlides.Header.Split(','),
            [.. split.Select(s => new[] { s.Slide.Name, s.Slide.ClassName, s.Part.ToString().ToLowerInvariant(), planned[s.Slide.Path].Labeller.Source.ToString(), Path.GetFullPath(s.Slide.Path) })]);
        var annotated = split.Where(s => planned[s.Slide.Path].Labeller.Annotations is not null).Select(s => s.Slide.Path).ToList();
        return new ExtractionSummary(split, results, noTissue, dataset.Ignored) { Annotated = annotated, LeftOutMixed = leftOut };
    }

    private static string[] Csv(SplitPart part, string className, string slide, long x, long y, float tissue, string file, LabelSource source) =>
    [
        part.ToString().ToLowerInvariant(),
        className,
        slide,
        x.ToString(CultureInfo.InvariantCulture),
        y.ToString(CultureInfo.InvariantCulture),
        float.IsNaN(tissue) ? string.Empty : tissue.ToString("0.###", CultureInfo.InvariantCulture),
        file,
        source.ToString().ToLowerInvariant(),
    ];

    /// <summary>A CSV file, quoted where a field holds a comma, quote or line break, header first even with no rows.</summary>
    private static void WriteCsv(string path, string[] header, IReadOnlyList<string[]> rows)
    {
        using SepWriter writer = Sep.New(',').Writer(o => o with { Escape = true }).ToFile(path);
        writer.Header.Add(header);
        if (rows.Count == 0)
        {
            writer.Header.Write();
        }

        foreach (string[] cells in rows)
        {
            using SepWriter.Row row = writer.NewRow();
            for (int c = 0; c < header.Length; c++)
            {
                row[header[c]].Set(cells[c]);
            }
        }
    }

}
