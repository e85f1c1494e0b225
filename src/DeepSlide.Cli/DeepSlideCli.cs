using System.CommandLine;
using DeepSlide.Cli.Commands;

namespace DeepSlide.Cli;

public static class DeepSlideCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("DeepSlide: whole-slide image classification, from slides to patches to slide labels.");
        root.Subcommands.Add(SynthCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(PlanCommand.Create());
        root.Subcommands.Add(TilesCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(ClassifyCommand.Create());
        root.Subcommands.Add(TuneCommand.Create());
        root.Subcommands.Add(QuantizeCommand.Create());
        root.Subcommands.Add(TrainMilCommand.Create());
        root.Subcommands.Add(RefineCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(CamCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ViewCommand.Create());
        root.Subcommands.Add(LocalCommand.Create());
        root.Subcommands.Add(PipelineBench.Create());
        root.Subcommands.Add(BenchCommand.CreateStreamChild());
        root.Subcommands.Add(BenchCommand.CreateClassifyChild());
        return root;
    }

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        try
        {
            // Domain errors are reported as one line naming the file; anything else is a bug and keeps its stack trace.
            return await Build().Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cancellationToken);
        }
        catch (DeepSlideException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }
    }
}
