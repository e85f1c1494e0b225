using System.CommandLine;
using DeepSlide.Datasets;
using DeepSlide.Inference;
using DeepSlide.Training;

namespace DeepSlide.Cli.Commands;

internal static class RefineCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model", "-m") { Description = "A bundle trained on slide labels ('deepslide train'), with attention MIL ('deepslide train-mil'); refined in place.", Required = true };
        var slides = new Option<string>("--slides", "-s") { Description = "The slides.csv from 'deepslide tiles' (its train and val rows name each patch's slide and class).", Required = true };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of relabelling and retraining: the first ranks patches by attention, later ones by the previous round's head.", DefaultValueFactory = _ => 2 };
        var errorRate = new Option<double>("--error-rate") { Description = "Estimated label error allowed on each side when the cut-offs are set on the validation slides.", DefaultValueFactory = _ => 0.05 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0, Description = "Seed for head training." };
        var command = new Command("refine", "Refine weak slide labels: relabel each tumour slide's training patches by attention (top: the slide's class, bottom: normal, middle left out) and retrain the patch head; run 'tune' again after.")
        {
            model, slides, rounds, errorRate, seed,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(rounds) < 1)
            {
                throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, null, "--rounds must be at least 1.");
            }

            ModelBundle bundle = ModelBundle.Load(parse.GetValue(model)!);
            string slidesCsv = parse.GetValue(slides)!;
            var classes = ValidationSlides.Read(slidesCsv, "train").Concat(ValidationSlides.Read(slidesCsv, "val")).ToDictionary(s => s.Name, s => s.ClassName);
            var refiner = new WeakLabelRefiner(new RefinementOptions
            {
                Rounds = parse.GetValue(rounds),
                ErrorRate = parse.GetValue(errorRate),
                Seed = parse.GetValue(seed),
            });
            (ModelBundle refined, _) = refiner.Refine(bundle, classes, Console.WriteLine);
            Console.WriteLine($"refined {refined.Folder} (round {refined.Manifest.Training?.RefinementRound}); the log is refinement-log.csv. Run 'deepslide tune' on it again.");
            return 0;
        });
        return command;
    }
}
