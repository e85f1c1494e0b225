using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
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
        var samples = new Option<int>("--samples") { Description = "int8: how many patches to calibrate on, sampled evenly over the classes.", DefaultValueFactory = _ => 128 };
        var percentile = new Option<double>("--percentile") { Description = "int8: the percentile of each activation kept on each side.", DefaultValueFactory = _ => ModelQuantizer.DefaultPercentile };
        var command = new Command("quantize", "Write an int8 (calibrated, QDQ) or FP16 copy of a model bundle; classify, tune, cam and the workers take it as they take any bundle.")
        {
            model, output, precision, calibration, samples, percentile,
        };
        command.SetAction((parse, _) =>
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
                written = ModelQuantizer.ToInt8(fp32, folder, patches, Path.GetFullPath(patchesFolder), parse.GetValue(percentile));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {written.Folder}: {written.Manifest.Onnx.Precision}, {new FileInfo(written.OnnxPath).Length / 1e6:0.0} MB (from {new FileInfo(fp32.OnnxPath).Length / 1e6:0.0} MB) in {watch.Elapsed.TotalSeconds:0.0} s"));
            if (written.Manifest.Onnx.Calibration is { } c)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"calibration: {c.Method} {c.Percentile}, {c.Samples} patches from {c.Source}"));
            }

            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>Up to <paramref name="count"/> training patches, the same number from each class as far as they go.</summary>
    internal static IReadOnlyList<ReadOnlyMemory<byte>> LoadCalibration(string folder, int count, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        PatchFolders patches = PatchFolders.Scan(folder);
        // Shuffled with a fixed seed, so the patches come from across the slides and the same command gives the same model.
        var random = new Random(1);
        var byClass = patches.Train.GroupBy(p => p.Label).Select(g =>
        {
            string[] files = g.Select(p => p.File).Order(StringComparer.Ordinal).ToArray();
            random.Shuffle(files);
            return new Queue<string>(files);
        }).ToList();
        var chosen = new List<string>();
        while (chosen.Count < count && byClass.Any(q => q.Count > 0))
        {
            foreach (Queue<string> files in byClass.Where(q => q.Count > 0))
            {
                if (chosen.Count < count)
                {
                    chosen.Add(files.Dequeue());
                }
            }
        }

        return chosen.Select(file =>
        {
            RgbImage image = ImageFiles.Load(file);
            return image.Width == size && image.Height == size
                ? (ReadOnlyMemory<byte>)image.Pixels
                : throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, file, $"the patch is {image.Width} x {image.Height}; the model takes {size} x {size}.");
        }).ToList();
    }
}
