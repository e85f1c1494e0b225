// The CLI writes to the process console, so its tests take turns.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace DeepSlide.Cli.Tests;

public sealed record CliResult(int ExitCode, string Output, string Error);

internal static class CliRun
{
    public static async Task<CliResult> RunAsync(params string[] args)
    {
        TextWriter originalOut = Console.Out, originalError = Console.Error;
        var output = new StringWriter();
        var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            int code = await DeepSlideCli.RunAsync(args);
            return new CliResult(code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }
    }
}
