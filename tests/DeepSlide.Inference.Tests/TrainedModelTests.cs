using DeepSlide.Aggregation;
using DeepSlide.Datasets;
using DeepSlide.Results;
using DeepSlide.Slides;
using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;
using DeepSlide.Training;

namespace DeepSlide.Inference.Tests;

/// <summary>Synthesizes labelled slides, extracts patches and trains a real model once for the test class.</summary>
public sealed class TrainedModel : IDisposable
{
    public TrainedModel()
    {
        Folder = Directory.CreateTempSubdirectory("deepslide-trained-").FullName;
        var options = new SyntheticDatasetOptions { SlidesPerClass = 4, Width = 2000, Height = 1600, Format = SyntheticFormat.Aperio, Seed = 1 };
        SyntheticDataset.Write(Path.Combine(Folder, "train-slides"), options);
        new TrainingPatchExtractor(new PatchExtractionOptions { ValFraction = 0.25, TestFraction = 0, Seed = 1 })
            .ExtractAsync(Path.Combine(Folder, "train-slides"), Path.Combine(Folder, "patches")).GetAwaiter().GetResult();
        Result = new PatchClassifierTrainer(new TrainingOptions { Seed = 1 }).Train(Path.Combine(Folder, "patches"), Path.Combine(Folder, "model"));
        HeldOut = SyntheticDataset.Write(Path.Combine(Folder, "held-out"), options with { Seed = 2 });
    }

    public string Folder { get; }

    public TrainingResult Result { get; }

    public IReadOnlyList<(string Path, string ClassName)> HeldOut { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public class TrainedModelTests(TrainedModel model) : IClassFixture<TrainedModel>
{
    [Fact]
    public async Task A_model_trained_on_synthetic_slides_labels_held_out_slides_from_another_seed()
    {
        using PatchClassifier classifier = PatchClassifier.Load(ModelBundle.Load(model.Result.Bundle.Folder));
        IReadOnlyList<ISlideAggregator> aggregators = Aggregators.FromManifest(classifier.Manifest);
        var correct = aggregators.ToDictionary(a => a.Name, _ => 0);
        foreach ((string path, string truth) in model.HeldOut)
        {
            using ISlideReader reader = SlideReader.Open(path);
            SlideResult result = await SlideClassifier.ClassifyAsync(reader, classifier, aggregators);
            Assert.Equal(SlideStatus.Classified, result.Status);
            foreach (SlideCall call in result.Calls)
            {
                correct[call.Method] += call.Label == truth ? 1 : 0;
            }
        }

        foreach ((string method, int right) in correct)
        {
            Assert.True(right >= 0.95 * model.HeldOut.Count, $"{method}: {right} of {model.HeldOut.Count} held-out slides right");
        }
    }

    [Fact]
    public async Task Its_int8_copy_calibrated_and_head_refitted_on_its_training_patches_calls_every_held_out_slide_as_FP32_does()
    {
        PatchFolders folders = PatchFolders.Scan(Path.Combine(model.Folder, "patches"));
        var calibration = folders.Train.Where((_, i) => i % 4 == 0).Take(48).Select(p => (ReadOnlyMemory<byte>)ImageFiles.Load(p.File).Pixels).ToList();
        ModelBundle int8 = Quantization.ModelQuantizer.ToInt8(model.Result.Bundle, Path.Combine(model.Folder, "int8"), calibration, "training patches");
        var refit = folders.Train.Where((_, i) => i % 2 == 0).Take(256).Select(p => (ReadOnlyMemory<byte>)ImageFiles.Load(p.File).Pixels).ToList();
        int8 = Quantization.ModelQuantizer.RefitHead(model.Result.Bundle, int8, Path.Combine(model.Folder, "int8-refit"), refit);
        using PatchClassifier fp32Classifier = PatchClassifier.Load(model.Result.Bundle);
        using PatchClassifier int8Classifier = PatchClassifier.Load(ModelBundle.Load(int8.Folder));
        IReadOnlyList<ISlideAggregator> aggregators = Aggregators.FromManifest(model.Result.Bundle.Manifest);
        int patches = 0, same = 0;
        foreach ((string path, _) in model.HeldOut)
        {
            using ISlideReader reader = SlideReader.Open(path);
            SlideResult fp32 = await SlideClassifier.ClassifyAsync(reader, fp32Classifier, aggregators);
            SlideResult quantized = await SlideClassifier.ClassifyAsync(reader, int8Classifier, aggregators);
            Assert.Equal(fp32.Calls.Select(c => (c.Method, c.Label)), quantized.Calls.Select(c => (c.Method, c.Label)));
            for (int i = 0; i < fp32.Patches.Count; i++)
            {
                patches++;
                same += ArgMax(fp32.Patches.Row(i)) == ArgMax(quantized.Patches.Row(i)) ? 1 : 0;
            }
        }

        // Measured: 368 of 370 on this data with the head re-fitted, 365 with the FP32 head; the bound leaves 9 patches.
        Assert.True(same >= 0.97 * patches, $"{same} of {patches} patches have the same class");
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    [Fact]
    public void The_bundle_records_classes_provenance_and_a_training_log()
    {
        var manifest = model.Result.Bundle.Manifest;
        Assert.Equal(["adenocarcinoma", "benign", "squamous"], manifest.Classes);
        Assert.Equal("benign", manifest.Aggregation.NormalClass);
        Assert.Equal(224, manifest.Patch.Window);
        Assert.Equal(Tissue.TissueMethod.Purple, manifest.Patch.Tissue);
        Assert.NotNull(manifest.Training);
        Assert.True(manifest.Training!.TrainPatches > 100);
        // Patches from mixed slides carry their slide's label, so patch accuracy is well below slide accuracy; 1/3 is chance.
        var best = model.Result.Log.Where(e => e.ValLoss is not null).MinBy(e => e.ValLoss)!;
        Assert.Equal(best.ValAccuracy, manifest.Training.ValAccuracy);
        Assert.True(manifest.Training.ValAccuracy > 0.6, $"validation accuracy {manifest.Training.ValAccuracy}");
        Assert.Equal(64, manifest.Onnx.Sha256!.Length);
        string[] log = File.ReadAllLines(Path.Combine(model.Result.Bundle.Folder, "training-log.csv"));
        Assert.Equal("epoch,train_loss,val_loss,val_accuracy", log[0]);
        Assert.Equal(model.Result.Log.Count + 1, log.Length);
    }

    [Fact]
    public async Task A_slide_without_tissue_is_a_no_tissue_result()
    {
        string path = Path.Combine(model.Folder, "blank.tif");
        SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("benign", 1200, 1000, 4) { TissueCoverage = 0 }), path, SyntheticFormat.Tiff);
        using PatchClassifier classifier = PatchClassifier.Load(model.Result.Bundle);
        using ISlideReader reader = SlideReader.Open(path);
        SlideResult result = await SlideClassifier.ClassifyAsync(reader, classifier, Aggregators.FromManifest(classifier.Manifest));
        Assert.Equal(SlideStatus.NoTissue, result.Status);
        Assert.All(result.Calls, c => Assert.Null(c.Label));
        Assert.Contains("no tissue", ResultFiles.SlideCsv([result], classifier.Manifest.Classes));
    }

    [Fact]
    public async Task A_model_trained_at_an_mpp_the_slide_cannot_give_is_refused()
    {
        var manifest = model.Result.Bundle.Manifest with { Patch = model.Result.Bundle.Manifest.Patch with { Level = null, Mpp = 0.25 } };
        using PatchClassifier classifier = PatchClassifier.Load(manifest, model.Result.Bundle.OnnxPath, File.ReadAllBytes(model.Result.Bundle.OnnxPath));
        using ISlideReader reader = SlideReader.Open(model.HeldOut[0].Path);
        var ex = await Assert.ThrowsAsync<DeepSlideException>(() => SlideClassifier.ClassifyAsync(reader, classifier, []));
        Assert.Equal(DeepSlideErrorReason.ResolutionUnavailable, ex.Reason);
        Assert.Contains("finer than the slide's level 0 (0.5 mpp)", ex.Message);
    }

    [Fact]
    public async Task Results_files_round_trip_the_patch_predictions()
    {
        using PatchClassifier classifier = PatchClassifier.Load(model.Result.Bundle);
        using ISlideReader reader = SlideReader.Open(model.HeldOut[^1].Path);
        SlideResult result = await SlideClassifier.ClassifyAsync(reader, classifier, Aggregators.FromManifest(classifier.Manifest));
        string folder = Path.Combine(model.Folder, "results");
        await ResultFiles.WriteSlideAsync(result, folder);

        (long[] x, long[] y, string[] prediction, float[][] p) = await PatchParquet.ReadAsync(Path.Combine(folder, "patches", result.SlideName + ".parquet"), classifier.Manifest.Classes);
        Assert.Equal(result.Plan!.Tiles.Select(t => t.X), x);
        Assert.Equal(result.Plan.Tiles.Select(t => t.Y), y);
        for (int i = 0; i < result.Patches.Count; i++)
        {
            Assert.Equal(result.Patches.Row(i).ToArray(), p.Select(column => column[i]));
            Assert.Equal(classifier.Manifest.Classes[result.Patches.Prediction(i).Class], prediction[i]);
        }

        string[] csv = File.ReadAllLines(Path.Combine(folder, "patches", result.SlideName + ".csv"));
        Assert.Equal("x,y,prediction,confidence", csv[0]);
        Assert.Equal(result.Patches.Count + 1, csv.Length);
        Assert.StartsWith($"{x[0]},{y[0]},{prediction[0]},", csv[1]);
        Assert.Contains("\"status\": \"classified\"", File.ReadAllText(Path.Combine(folder, result.SlideName + ".json")));
    }
}
