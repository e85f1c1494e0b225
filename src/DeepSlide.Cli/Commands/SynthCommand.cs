using System.CommandLine;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;

namespace DeepSlide.Cli.Commands;

internal static class SynthCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder to write the labelled slides to (one subfolder per class).", Required = true };
        var perClass = new Option<int>("--slides-per-class") { Description = "Slides per class.", DefaultValueFactory = _ => 4 };
        var width = new Option<int>("--width") { Description = "Level-0 width in pixels.", DefaultValueFactory = _ => 4096 };
        var height = new Option<int>("--height") { Description = "Level-0 height in pixels.", DefaultValueFactory = _ => 3072 };
        var format = new Option<SyntheticFormat>("--format") { Description = "tiff (generic tiled pyramid), aperio (SVS-style) or jpeg (flat).", DefaultValueFactory = _ => SyntheticFormat.Tiff };
        var mixed = new Option<double>("--benign-fraction") { Description = "Share of each non-benign slide's tissue drawn as benign, for mixed slides.", DefaultValueFactory = _ => 0.25 };
        var sparse = new Option<bool>("--sparse") { Description = "Non-benign slides hold only 5-15% of their class's tissue, the rest benign (a set where attention MIL matters)." };
        var mixedMode = new Option<bool>("--mixed") { Description = "Every non-benign slide holds 20-60% of its class's tissue, the rest benign (weak slide labels on mixed slides)." };
        var truth = new Option<string?>("--truth") { Description = "Folder for the region truth: annotations/{slide}.geojson (QuPath GeoJSON of the non-benign regions), maps/{slide}.png and legend.json (default: <out>-truth)." };
        var stain = new Option<string>("--stain-shift") { Description = "R,G,B added to every colour, as another lab's stain would shift it (e.g. -24,-30,12 for a bluer, darker stain).", DefaultValueFactory = _ => "0,0,0" };
        var seed = new Option<int>("--seed") { Description = "Random seed; the same seed writes the same slides.", DefaultValueFactory = _ => 1 };
        var command = new Command("synth", "Write a labelled set of synthetic H&E-like slides (classes: " + string.Join(", ", TissueClassStyle.All.Select(s => s.Name)) + ").")
        {
            output, perClass, width, height, format, mixed, sparse, mixedMode, truth, stain, seed,
        };
        command.SetAction(parse =>
        {
            string outFolder = parse.GetValue(output)!;
            string truthFolder = parse.GetValue(truth) ?? Path.TrimEndingDirectorySeparator(outFolder) + "-truth";
            var written = SyntheticDataset.Write(
                parse.GetValue(output)!,
                new SyntheticDatasetOptions
                {
                    SlidesPerClass = parse.GetValue(perClass),
                    Width = parse.GetValue(width),
                    Height = parse.GetValue(height),
                    Format = parse.GetValue(format),
                    BenignFraction = parse.GetValue(mixed),
                    Sparse = parse.GetValue(sparse),
                    Mixed = parse.GetValue(mixedMode),
                    TruthFolder = truthFolder,
                    Seed = parse.GetValue(seed),
                    StainShift = ParseShift(parse.GetValue(stain)!),
                },
                progress: line => Console.WriteLine(line));
            Console.WriteLine($"wrote {written.Count} slides to {outFolder}, and their region truth to {truthFolder} ({SyntheticTruth.AnnotationsFolder}/ for --annotations)");
            return 0;
        });
        return command;
    }

    private static (int R, int G, int B) ParseShift(string text)
    {
        int[] parts = [.. text.Split(',').Select(p => int.TryParse(p, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int v) && v is >= -128 and <= 128 ? v : int.MinValue)];
        return parts.Length == 3 && !parts.Contains(int.MinValue)
            ? (parts[0], parts[1], parts[2])
            : throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, $"--stain-shift '{text}' is not R,G,B with each from -128 to 128.");
    }
}
