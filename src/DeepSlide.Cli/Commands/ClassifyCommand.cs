using System.CommandLine;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Results;
using DeepSlide.Slides;

namespace DeepSlide.Cli.Commands;

internal static class ClassifyCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "A model bundle folder.", Required = true };
        var input = new Option<string>("--input", "-i") { Description = "A slide, or a folder searched for slides.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder for {slide}.json, patches/{slide}.csv and .parquet, and slides.csv.", Required = true };
        var pictures = new Option<bool>("--pictures") { Description = "Also draw class overlays, per-class heatmaps and tissue masks, and write QuPath GeoJSON.", DefaultValueFactory = _ => true };
        var pictureSize = new Option<int>("--picture-size") { Description = "Long side of the pictures in pixels.", DefaultValueFactory = _ => 2000 };
        var confirm = new Option<bool>("--confirm") { Description = "With an int8 bundle that carries its FP32 graph: classify again in FP32 the patches and the slides whose int8 outputs leave them unsure (false: the int8 graph alone).", DefaultValueFactory = _ => true };
        var inference = new InferenceOptionSet();
        var command = new Command("classify", "Classify slides: patch predictions and every aggregator's slide label.") { model, input, output, pictures, pictureSize, confirm };
        inference.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            ModelBundle bundle = ModelBundle.Load(parse.GetValue(model)!);
            if (bundle.IntegrityWarning is string warning)
            {
                await Console.Error.WriteLineAsync($"warning: {warning}");
            }

            using PatchClassifier classifier = PatchClassifier.Load(bundle, inference.Read(parse));
            IReadOnlyList<ISlideAggregator> aggregators = Aggregators.FromManifest(bundle.Manifest);
            string outFolder = parse.GetValue(output)!;
            IReadOnlyList<string> slides = FindSlides(parse.GetValue(input)!);
            Console.WriteLine($"model {bundle.Folder} ({string.Join(", ", bundle.Manifest.Classes)}) on {classifier.ExecutionProvider}, batch {classifier.BatchSize}; {slides.Count} slide(s)");
            if (bundle.Manifest.Onnx.Cost is { } cost)
            {
                Console.WriteLine($"{bundle.Manifest.Onnx.Precision} model: {cost.Describe()}");
            }

            if (bundle.Manifest.Aggregation.LearnedNotTrained is string why)
            {
                Console.WriteLine($"learned    not available: {why}");
            }
            var pictureOptions = parse.GetValue(pictures) ? new Visualization.PictureOptions { Size = parse.GetValue(pictureSize), ClassColours = bundle.Manifest.ColourMap() } : null;
            using CallConfirmation? confirmation = CallConfirmation.For(bundle, inference.Read(parse), parse.GetValue(confirm));
            if (confirmation is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"the bundle's fp32 graph classifies again a patch whose top two probabilities are within {confirmation.PatchMargin:0.###}, and a slide whose calls move when any class's probability moves by {confirmation.Margin:0.###}"));
            }

            var results = await ClassifyAllAsync(slides, classifier, aggregators, outFolder, cancellationToken, pictureOptions, confirmation);
            await File.WriteAllTextAsync(Path.Combine(outFolder, "slides.csv"), ResultFiles.SlideCsv(results, bundle.Manifest.Classes), cancellationToken);
            PrintTable(results, aggregators);
            if (confirmation is not null)
            {
                int patches = results.Sum(r => r.Patches.Count), again = results.Sum(r => r.Confirmed?.Patches ?? 0);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"classified again in fp32: {results.Count(r => r.Confirmed?.WholeSlide == true)} of {results.Count} slide(s) whole; {again} of {patches} patches ({(patches > 0 ? again / (double)patches : 0):P1}) one by one"));
            }

            return results.Any(r => r.Status == SlideStatus.Failed) ? 2 : 0;
        });
        return command;
    }

    internal static async Task<List<SlideResult>> ClassifyAllAsync(
        IReadOnlyList<string> slides, PatchClassifier classifier, IReadOnlyList<ISlideAggregator> aggregators, string outFolder, CancellationToken cancellationToken, Visualization.PictureOptions? pictures = null, CallConfirmation? confirmation = null)
    {
        Directory.CreateDirectory(outFolder);
        var results = new List<SlideResult>();
        var progress = new ProgressLine();
        foreach (string path in slides)
        {
            SlideResult result;
            try
            {
                using ISlideReader reader = SlideReader.Open(path);
                result = await SlideClassifier.ClassifyAsync(
                    reader, classifier, aggregators, progress: (done, total) => progress.Report(Path.GetFileName(path), done, total), confirmation: confirmation, cancellationToken: cancellationToken)
                    with { ClassColours = classifier.Manifest.ColourMap() };
                if (result.Confirmed is { WholeSlide: true } confirmed)
                {
                    progress.Done();
                    Console.WriteLine($"{Path.GetFileName(path)}: {confirmed.Describe()}");
                }

                await ResultFiles.WriteSlideAsync(result, outFolder, cancellationToken);
                if (pictures is not null)
                {
                    Visualization.ResultPictures.Write(reader, result, outFolder, pictures);
                }
            }
            catch (Exception ex) when (slides.Count > 1 && ex is not OperationCanceledException)
            {
                // One bad slide in a folder is reported and recorded; the others still get classified. An exception
                // that is not the domain's is a bug, but it still fails only this slide, with the slide named.
                string message = ex is DeepSlideException ? ex.Message : $"{path}: unexpected {ex.GetType().Name}: {ex.Message}";
                result = new SlideResult(path, SlideStatus.Failed, null, new PatchProbabilities(classifier.Manifest.Classes, []), [], classifier.ExecutionProvider, 0, message);
                await ResultFiles.WriteFailureAsync(result, outFolder, cancellationToken);
                await Console.Error.WriteLineAsync($"error: {message}");
            }

            progress.Done();
            results.Add(result);
        }

        return results;
    }

    internal static IReadOnlyList<string> FindSlides(string input)
    {
        if (File.Exists(input))
        {
            return [input];
        }

        if (!Directory.Exists(input))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, input, "no such slide or folder.");
        }

        var slides = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
            .Where(f => SlideReader.SlideExtensions.Contains(Path.GetExtension(f)) && !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToList();
        return slides.Count > 0 ? slides : throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, input, "the folder holds no slides.");
    }

    internal static void PrintTable(IReadOnlyList<SlideResult> results, IReadOnlyList<ISlideAggregator> aggregators)
    {
        int width = Math.Max(12, results.Max(r => r.SlideName.Length));
        Console.WriteLine($"{"slide".PadRight(width)}  {"status",-10} {"patches",7} {"s",6}  {string.Join("  ", aggregators.Select(a => a.Name.PadRight(16)))}");
        foreach (SlideResult r in results)
        {
            string calls = string.Join("  ", aggregators.Select(a => (r.Call(a.Name)?.Label ?? "-").PadRight(16)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.SlideName.PadRight(width)}  {r.Status,-10} {r.Patches.Count,7} {r.Seconds,6:0.0}  {calls}"));
        }
    }

    /// <summary>A one-line progress bar on a terminal; plain lines at 25% steps when output is redirected.</summary>
    private sealed class ProgressLine
    {
        private int _lastQuarter = -1;

        public void Report(string name, int done, int total)
        {
            if (total == 0)
            {
                return;
            }

            if (!Console.IsOutputRedirected)
            {
                int filled = done * 30 / total;
                Console.Write($"\r{name} [{new string('#', filled)}{new string('.', 30 - filled)}] {done}/{total}");
            }
            else if (done * 4 / total != _lastQuarter)
            {
                _lastQuarter = done * 4 / total;
                Console.WriteLine($"{name}: {done}/{total} patches");
            }
        }

        public void Done()
        {
            if (!Console.IsOutputRedirected)
            {
                Console.Write("\r" + new string(' ', 79) + "\r");
            }

            _lastQuarter = -1;
        }
    }
}
