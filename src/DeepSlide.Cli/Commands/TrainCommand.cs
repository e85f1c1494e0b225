using System.CommandLine;
using System.Globalization;
using DeepSlide.Learning;
using DeepSlide.Training;

namespace DeepSlide.Cli.Commands;

internal static class TrainCommand
{
    public static Command Create()
    {
        var patches = new Option<string>("--patches", "-p") { Description = "Output of 'deepslide tiles' (train/ and val/ class folders).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Folder for the model bundle (model.onnx, manifest.json, training-log.csv).", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Most epochs of head training (early stopping usually ends sooner).", DefaultValueFactory = _ => 100 };
        var augment = new Option<int>("--augment") { Description = "Augmented views (flip, rotation, colour jitter) per training patch.", DefaultValueFactory = _ => 1 };
        var stain = new Option<string>("--stain") { Description = "Stain normalisation: none, reinhard or macenko (fitted on the training patches, applied again at inference).", DefaultValueFactory = _ => "none" };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed for augmentation and training." };
        var inference = new InferenceOptionSet();
        var command = new Command("train", "Train a patch classifier: ResNet-18 features and a class-weighted softmax head, exported as one ONNX model bundle.")
        {
            patches, output, epochs, augment, stain, seed,
        };
        inference.AddTo(command);
        command.SetAction(parse =>
        {
            string root = parse.GetValue(patches)!;
            var trainer = new PatchClassifierTrainer(new TrainingOptions
            {
                AugmentedViews = parse.GetValue(augment),
                Stain = parse.GetValue(stain)!,
                Seed = parse.GetValue(seed),
                Head = new SoftmaxTrainingOptions { MaxEpochs = parse.GetValue(epochs) },
                Inference = inference.Read(parse),
            });
            TrainingResult result = trainer.Train(root, parse.GetValue(output)!, Console.WriteLine);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"trained on {result.TrainViews} views in {result.Elapsed.TotalSeconds:0.0} s ({result.ExecutionProvider}); best validation accuracy {result.ValAccuracy:P1}; bundle {result.Bundle.Folder}"));
            return 0;
        });
        return command;
    }
}
