using System.CommandLine;
using DeepSlide.Datasets;
using DeepSlide.Tissue;

namespace DeepSlide.Cli.Commands;

internal static class TilesCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--input", "-i") { Description = "Folder of slides in class subfolders (classes are the sorted folder names).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder for {train,val,test}/{class}/ patches, patches.csv and slides.csv.", Required = true };
        var val = new Option<double>("--val") { Description = "Share of each class's slides for validation.", DefaultValueFactory = _ => 0.2 };
        var test = new Option<double>("--test") { Description = "Share of each class's slides for testing.", DefaultValueFactory = _ => 0.2 };
        var perClass = new Option<int?>("--patches-per-class") { Description = "Training patches per class after balancing (default: the largest class's count)." };
        var maxOverlap = new Option<double>("--max-overlap") { Description = "Largest overlap factor for minority classes before duplication.", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "Seed for the split and the duplication.", DefaultValueFactory = _ => 0 };
        var annotations = new Option<string?>("--annotations") { Description = "Folder of QuPath GeoJSON region annotations, {slide name}.geojson: an annotated slide's patches take the class holding most of their tissue; other slides keep the slide's label." };
        var minShare = new Option<double>("--min-annotated-share") { Description = "With --annotations: a patch takes an annotated class once that class holds at least this share of its tissue (the largest such), so the edges of small foci give training patches; 0.5 asks for a majority.", DefaultValueFactory = _ => 0.5 };
        var outside = new Option<string?>("--outside") { Description = "Class of the tissue outside every annotation on annotated slides (typically the normal class); without it such patches are left out." };
        var tiling = new TilingOptionSet(TissueMethod.Purple);
        var command = new Command("tiles", "Extract balanced training patches from labelled slides, split train/val/test by slide (DeepSlide's method).")
        {
            input, output, val, test, perClass, maxOverlap, seed, annotations, outside, minShare,
        };
        tiling.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var extractor = new TrainingPatchExtractor(new PatchExtractionOptions
            {
                Tiling = tiling.Read(parse),
                ValFraction = parse.GetValue(val),
                TestFraction = parse.GetValue(test),
                PatchesPerClass = parse.GetValue(perClass),
                MaxOverlapFactor = parse.GetValue(maxOverlap),
                Seed = parse.GetValue(seed),
                AnnotationsFolder = parse.GetValue(annotations),
                OutsideClass = parse.GetValue(outside),
                MinAnnotatedShare = parse.GetValue(minShare) is double share and > 0 and <= 0.5
                    ? share
                    : throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"--min-annotated-share {parse.GetValue(minShare)} is not above 0 and at most 0.5."),
            });
            string outFolder = parse.GetValue(output)!;
            ExtractionSummary summary = await extractor.ExtractAsync(parse.GetValue(input)!, outFolder, Console.WriteLine, cancellationToken);
            foreach (string ignored in summary.Ignored)
            {
                Console.WriteLine($"ignored    {ignored} (not a slide or class folder)");
            }

            foreach (string empty in summary.SlidesWithoutTissue)
            {
                Console.WriteLine($"no tissue  {empty}: no patches");
            }

            if (parse.GetValue(annotations) is string folder)
            {
                Console.WriteLine($"labels     {summary.Annotated.Count} of {summary.Split.Count} slides labelled from annotations in {folder}; {summary.LeftOutMixed} mixed patches left out (no class holds most of their tissue)");
            }

            Console.WriteLine($"wrote {summary.Classes.Sum(c => c.Patches + c.Duplicates)} patches from {summary.Split.Count} slides to {outFolder}");
            return 0;
        });
        return command;
    }
}
