using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Datasets;
using DeepSlide.Imaging;
using DeepSlide.Inference;
using DeepSlide.Inference.Quantization;
using DeepSlide.Models;
using DeepSlide.Slides;
using DeepSlide.Training;

namespace DeepSlide.Cli.Commands;

internal static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "The FP32 model bundle.", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Folder for the new bundle.", Required = true };
        var precision = new Option<string>("--precision") { Description = "int8 (QDQ, for the CPU) or fp16 (for CUDA).", DefaultValueFactory = _ => ModelPrecision.Int8 };
        precision.AcceptOnlyFromAmong(ModelPrecision.Int8, ModelPrecision.Fp16);
        var calibration = new Option<string?>("--calibration") { Description = "int8: the patches to calibrate on, as 'deepslide tiles' wrote them (its train/ folder is sampled)." };
        var samples = new Option<int>("--samples") { Description = "int8: how many patches to calibrate on, sampled evenly over the classes.", DefaultValueFactory = _ => 512 };
        var percentile = new Option<double>("--percentile") { Description = "int8: the percentile of each activation kept on each side.", DefaultValueFactory = _ => ModelQuantizer.DefaultPercentile };
        var refit = new Option<int>("--refit-samples") { Description = "int8: also try the float head re-fitted on this many training patches so that, on the int8 backbone's features, it gives the FP32 model's outputs; the candidate that changes fewer validation calls, then agrees on more check patches, is kept (0: keep the FP32 head).", DefaultValueFactory = _ => 512 };
        var floatStem = new Option<bool>("--float-stem") { Description = "int8: keep the first convolution (on the image) in float. Closer to FP32, especially on stains the calibration did not see; about a third slower on the CPU." };
        var check = new Option<string?>("--check") { Description = "int8: labelled patches ('deepslide tiles' output; its val/ split) to measure the cost on (default: the --calibration folder's val/)." };
        var checkSamples = new Option<int>("--check-samples") { Description = "int8: how many check patches, the same number from each class as far as they go.", DefaultValueFactory = _ => 512 };
        var maxLoss = new Option<double>("--max-loss") { Description = "int8: refuse the bundle when it loses more than this many points of patch accuracy on the check patches.", DefaultValueFactory = _ => 1.0 };
        var force = new Option<bool>("--force") { Description = "int8: write the bundle even when it loses more than --max-loss or changes a validation slide's call." };
        var confirmMargin = new Option<double>("--confirm-margin") { Description = $"int8: carry the FP32 graph, which classify runs on each patch whose top two int8 probabilities are within {ConfirmationSpec.DefaultPatchMargin.ToString(CultureInfo.InvariantCulture)} and on each slide whose calls would change were every patch's probability of one class moved by this much (0: int8 alone, a smaller bundle).", DefaultValueFactory = _ => ConfirmationSpec.DefaultMargin };
        var slides = new Option<string?>("--slides", "-s") { Description = "int8: validation slides (class folders, or the slides.csv 'deepslide tiles' wrote): the bundle is refused when any slide call differs from FP32's." };
        var command = new Command("quantize", "Write an int8 (calibrated, QDQ) or FP16 copy of a model bundle; classify, tune, cam and the workers take it as they take any bundle. An int8 bundle is checked against the FP32 one on labelled patches, the cost recorded in its manifest, and refused when it loses too much.")
        {
            model, output, precision, calibration, samples, percentile, refit, floatStem, check, checkSamples, maxLoss, force, slides, confirmMargin,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var watch = Stopwatch.StartNew();
            ModelBundle fp32 = ModelBundle.Load(parse.GetValue(model)!);
            string folder = parse.GetValue(output)!;
            ModelBundle written;
            if (parse.GetValue(precision) == ModelPrecision.Fp16)
            {
                written = ModelQuantizer.ToFp16(fp32, folder);
            }
            else
            {
                string patchesFolder = parse.GetValue(calibration)
                    ?? throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, "int8 needs --calibration: the patches folder 'deepslide tiles' wrote.");
                IReadOnlyList<ReadOnlyMemory<byte>> patches = LoadCalibration(patchesFolder, parse.GetValue(samples), fp32.Manifest.Input.Size);
                string checkFolder = parse.GetValue(check) ?? patchesFolder;
                (IReadOnlyList<ReadOnlyMemory<byte>> checkPatches, IReadOnlyList<int> labels) = LoadCheck(checkFolder, parse.GetValue(checkSamples), fp32.Manifest);

                // Written beside the target and moved in only once it passes, so a refused bundle leaves nothing behind.
                string checking = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar) + ".checking";
                if (Directory.Exists(checking))
                {
                    Directory.Delete(checking, recursive: true);
                }

                // Two candidates, measured on the same check patches (and slides): the FP32 head as it is, and the head
                // re-fitted to the int8 backbone's features. The one that changes fewer slide calls, then agrees with
                // FP32 on more patches, is kept.
                ModelBundle plain = ModelQuantizer.ToInt8(fp32, Path.Combine(checking, "fp32-head"), patches, Path.GetFullPath(patchesFolder), parse.GetValue(percentile), floatStem: parse.GetValue(floatStem));
                var candidates = new List<ModelBundle> { plain };
                if (parse.GetValue(refit) > 0 && fp32.Manifest.Output.Features is not null)
                {
                    // The same sample as the calibration's when the counts agree (it is drawn the same way), so it is not read twice.
                    IReadOnlyList<ReadOnlyMemory<byte>> refitPatches = parse.GetValue(refit) == parse.GetValue(samples) ? patches : LoadCalibration(patchesFolder, parse.GetValue(refit), fp32.Manifest.Input.Size);
                    candidates.Add(ModelQuantizer.RefitHead(fp32, plain, Path.Combine(checking, "refitted-head"), refitPatches));
                }
                else if (parse.GetValue(refit) > 0)
                {
                    Console.WriteLine("head re-fit not tried: the model exposes no features ('output.features').");
                }

                IReadOnlyList<LabelledSlide>? validation = parse.GetValue(slides) is string slidesPath ? ValidationSlides.Read(slidesPath) : null;
                List<IReadOnlyList<SlideCall>>? sourceCalls = validation is null ? null : await CallsAsync(fp32, validation, cancellationToken);
                var costs = new List<QuantizationCost>();
                // The slide calls are the ones classify will make: with the FP32 graph the bundle carries confirming
                // the unsure ones. The check patches measure the int8 graph alone.
                using CallConfirmation? confirmation = parse.GetValue(confirmMargin) > 0 ? CallConfirmation.With(fp32, new ConfirmationSpec { Margin = parse.GetValue(confirmMargin) }) : null;
                foreach (ModelBundle candidate in candidates)
                {
                    QuantizationCost cost = QuantizationCheck.Measure(fp32, candidate, checkPatches, labels, Path.Combine(Path.GetFullPath(checkFolder), "val"));
                    if (validation is not null)
                    {
                        cost = cost with { Slides = validation.Count, ChangedCalls = Changed(validation, sourceCalls!, await CallsAsync(candidate, validation, cancellationToken, confirmation)) };
                    }

                    costs.Add(cost);
                    string head = candidate.Manifest.Onnx.Calibration!.HeadRefitSamples is int n and > 0 ? $"head re-fitted on {n} patches" : "FP32 head";
                    Console.WriteLine($"int8 check, {head}: {cost.Describe()}");
                }

                int kept = Enumerable.Range(0, candidates.Count).OrderBy(i => costs[i].ChangedCalls.Count).ThenByDescending(i => costs[i].Agreement).First();
                QuantizationCost chosen = costs[kept];
                written = candidates[kept];
                written = written.WithManifest(written.Manifest with { Onnx = written.Manifest.Onnx with { Cost = chosen } });
                string? refused = chosen.AccuracyLoss > parse.GetValue(maxLoss)
                    ? string.Create(CultureInfo.InvariantCulture, $"the int8 model loses {chosen.AccuracyLoss:0.0} points of patch accuracy on {chosen.Patches} check patches ({chosen.Accuracy:0.000} against FP32's {chosen.SourceAccuracy:0.000}), more than --max-loss {parse.GetValue(maxLoss):0.0}")
                    : chosen.ChangedCalls.Count > 0 ? $"the int8 model changes {chosen.ChangedCalls.Count} slide call(s) on {chosen.Slides} validation slides ({string.Join("; ", chosen.ChangedCalls)})"
                    : null;
                if (refused is not null && !parse.GetValue(force))
                {
                    Directory.Delete(checking, recursive: true);
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, folder, $"not written: {refused}; calibrate on more patches (--samples) or keep FP32, or write it anyway with --force.");
                }

                Directory.CreateDirectory(folder);
                foreach (string file in Directory.GetFiles(written.Folder))
                {
                    File.Move(file, Path.Combine(folder, Path.GetFileName(file)), overwrite: true);
                }

                Directory.Delete(checking, recursive: true);
                written = ModelBundle.Load(folder);
                if (parse.GetValue(confirmMargin) > 0)
                {
                    written = written.WithConfirmation(fp32, parse.GetValue(confirmMargin));
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {written.Folder}: {written.Manifest.Onnx.Precision}, {new FileInfo(written.OnnxPath).Length / 1e6:0.0} MB (from {new FileInfo(fp32.OnnxPath).Length / 1e6:0.0} MB) in {watch.Elapsed.TotalSeconds:0.0} s"));
            if (written.Manifest.Onnx.Calibration is { } c)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"calibration: {c.Method} {c.Percentile}, {c.Samples} patches from {c.Source}; {(c.HeadRefitSamples > 0 ? $"head re-fitted on {c.HeadRefitSamples} patches" : "FP32 head kept")}{(c.FloatConvolutions.Count > 0 ? $"; in float: {string.Join(", ", c.FloatConvolutions)}" : string.Empty)}"));
            }

            if (written.Manifest.Onnx.Confirm is { } carried)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"confirmation: {carried.File} (the fp32 graph) classifies again each patch whose top two int8 probabilities are within {carried.PatchMargin:0.###} and each slide whose calls a probability margin of {carried.Margin:0.###} could move"));
            }

            return 0;
        });
        return command;
    }

    private static async Task<List<IReadOnlyList<SlideCall>>> CallsAsync(ModelBundle bundle, IReadOnlyList<LabelledSlide> slides, CancellationToken cancellationToken, CallConfirmation? confirmation = null)
    {
        using PatchClassifier classifier = PatchClassifier.Load(bundle);
        var calls = new List<IReadOnlyList<SlideCall>>();
        foreach (LabelledSlide slide in slides)
        {
            using ISlideReader reader = SlideReader.Open(slide.Path);
            calls.Add((await SlideClassifier.ClassifyAsync(reader, classifier, Aggregators.FromManifest(bundle.Manifest), confirmation: confirmation, cancellationToken: cancellationToken)).Calls);
        }

        return calls;
    }

    /// <summary>The calls that differ, "slide method: fp32 label, int8 label".</summary>
    private static IReadOnlyList<string> Changed(IReadOnlyList<LabelledSlide> slides, List<IReadOnlyList<SlideCall>> before, List<IReadOnlyList<SlideCall>> after) =>
        [.. slides.SelectMany((slide, i) => before[i].Zip(after[i])
            .Where(p => p.First.Label != p.Second.Label)
            .Select(p => $"{slide.Name} {p.First.Method}: {p.First.Label ?? "(none)"}, {p.Second.Label ?? "(none)"}"))];

    /// <summary>Up to <paramref name="count"/> training patches, the same number from each class as far as they go.</summary>
    internal static IReadOnlyList<ReadOnlyMemory<byte>> LoadCalibration(string folder, int count, int size) =>
        [.. Sample(PatchFolders.Scan(folder).Train, count).Select(p => Load(p.File, size))];

    /// <summary>Up to <paramref name="count"/> validation patches, balanced over the classes, and their labels in the model's class order.</summary>
    internal static (IReadOnlyList<ReadOnlyMemory<byte>> Patches, IReadOnlyList<int> Labels) LoadCheck(string folder, int count, ModelManifest manifest)
    {
        PatchFolders patches = PatchFolders.Scan(folder);
        if (patches.Val.Count == 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, folder, "there are no val/ patches to check the int8 model on; give --check a 'deepslide tiles' folder with a validation split.");
        }

        int[] toModel = [.. patches.Classes.Select(c => manifest.Classes.ToList().IndexOf(c))];
        if (Array.IndexOf(toModel, -1) is int missing and >= 0)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, folder, $"its class '{patches.Classes[missing]}' is not one of the model's ({string.Join(", ", manifest.Classes)}).");
        }

        List<(string File, int Label)> chosen = Sample(patches.Val, count);
        return ([.. chosen.Select(p => Load(p.File, manifest.Input.Size))], [.. chosen.Select(p => toModel[p.Label])]);
    }

    // Shuffled with a fixed seed, so the patches come from across the slides and the same command gives the same model.
    private static List<(string File, int Label)> Sample(IReadOnlyList<(string File, int Label)> patches, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var random = new Random(1);
        var byClass = patches.GroupBy(p => p.Label).Select(g =>
        {
            (string File, int Label)[] files = [.. g.OrderBy(p => p.File, StringComparer.Ordinal)];
            random.Shuffle(files);
            return new Queue<(string File, int Label)>(files);
        }).ToList();
        var chosen = new List<(string File, int Label)>();
        while (chosen.Count < count && byClass.Any(q => q.Count > 0))
        {
            foreach (Queue<(string File, int Label)> files in byClass.Where(q => q.Count > 0))
            {
                if (chosen.Count < count)
                {
                    chosen.Add(files.Dequeue());
                }
            }
        }

        return chosen;
    }

    private static ReadOnlyMemory<byte> Load(string file, int size)
    {
        RgbImage image = ImageFiles.Load(file);
        return image.Width == size && image.Height == size
            ? image.Pixels
            : throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, file, $"the patch is {image.Width} x {image.Height}; the model takes {size} x {size}.");
    }
}
