using System.CommandLine;
using System.Globalization;
using DeepSlide.Aggregation;
using DeepSlide.Inference;
using DeepSlide.Inference.Onnx;
using DeepSlide.Learning;
using DeepSlide.Patches;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using DeepSlide.Visualization;

namespace DeepSlide.Cli.Commands;

internal static class CamCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "A model bundle exported by 'deepslide train' (it carries the feature map and head).", Required = true };
        var slide = new Option<string>("--slide", "-s") { Description = "The slide to explain.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder for {slide}_{class}_{rank}_x{X}_y{Y}.png.", Required = true };
        var top = new Option<int>("--top", "-k") { Description = "Most confident patches per class.", DefaultValueFactory = _ => 5 };
        var inference = new InferenceOptionSet();
        var command = new Command("cam", "Class activation maps over the top-k most confident patches of each class on a slide.") { model, slide, output, top };
        inference.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            ModelBundle bundle = ModelBundle.Load(parse.GetValue(model)!);
            using PatchClassifier classifier = PatchClassifier.Load(bundle, inference.Read(parse));
            SoftmaxModel head = ClassifierGraph.ReadHead(File.ReadAllBytes(bundle.OnnxPath));
            using ISlideReader reader = SlideReader.Open(parse.GetValue(slide)!);
            SlideResult result = await SlideClassifier.ClassifyAsync(reader, classifier, [], cancellationToken: cancellationToken);
            string folder = parse.GetValue(output)!;
            Directory.CreateDirectory(folder);
            int written = 0;
            for (int c = 0; c < result.Patches.Classes.Count; c++)
            {
                int[] chosen = Enumerable.Range(0, result.Patches.Count)
                    .Where(i => result.Patches.Prediction(i).Class == c)
                    .OrderByDescending(i => result.Patches.Row(i)[c])
                    .Take(parse.GetValue(top))
                    .ToArray();
                for (int rank = 0; rank < chosen.Length; rank++)
                {
                    Tile tile = result.Plan!.Tiles[chosen[rank]];
                    byte[] patch = PatchAt(reader, result.Plan, tile);
                    var probabilities = new float[classifier.ClassCount];
                    var map = new float[ResNetBackbone.FeatureCount * ResNetBackbone.FeatureMapSide * ResNetBackbone.FeatureMapSide];
                    classifier.Classify([patch], probabilities, featureMaps: map);
                    float[] cam = ClassActivationMap.Compute(map, head.Weights.AsSpan(c * head.Features, head.Features), ResNetBackbone.FeatureMapSide, ResNetBackbone.FeatureMapSide);
                    float[] heat = ClassActivationMap.Upsample(cam, ResNetBackbone.FeatureMapSide, ResNetBackbone.FeatureMapSide, result.Plan.Window);
                    string name = string.Create(CultureInfo.InvariantCulture, $"{result.SlideName}_{result.Patches.Classes[c]}_{rank + 1}_x{tile.X}_y{tile.Y}.png");
                    ImageFiles.Save(Blend(patch, heat), result.Plan.Window, result.Plan.Window, Path.Combine(folder, name));
                    written++;
                }
            }

            Console.WriteLine($"wrote {written} class activation maps to {folder}");
            return 0;
        });
        return command;
    }

    private static byte[] PatchAt(ISlideReader reader, TilePlan plan, Tile tile)
    {
        var single = plan with { Tiles = [tile] };
        var patch = PatchStream.ReadAsync(reader, single).ToBlockingEnumerable().Single();
        using (patch)
        {
            return patch.Pixels.ToArray();
        }
    }

    // Half the patch, half the activation on the same colour ramp as the heatmaps.
    private static byte[] Blend(byte[] patch, float[] heat)
    {
        var result = new byte[patch.Length];
        for (int i = 0; i < heat.Length; i++)
        {
            var colour = ClassColours.Ramp(heat[i]);
            result[i * 3] = (byte)((patch[i * 3] + colour.Red) / 2);
            result[i * 3 + 1] = (byte)((patch[i * 3 + 1] + colour.Green) / 2);
            result[i * 3 + 2] = (byte)((patch[i * 3 + 2] + colour.Blue) / 2);
        }

        return result;
    }
}
