using System.CommandLine;
using DeepSlide.Viewer;

namespace DeepSlide.Cli.Commands;

/// <summary><c>deepslide view RESULTS --slides DIR</c>: the viewer over a classify output folder, on this machine.</summary>
internal static class ViewCommand
{
    public static Command Create()
    {
        var results = new Argument<string>("results") { Description = "A 'deepslide classify' output folder." };
        var slides = new Option<string>("--slides") { Description = "The folder holding the classified slides (searched by file name, with subfolders).", Required = true };
        var port = new Option<int>("--port") { Description = "The port on 127.0.0.1; 0 picks a free one.", DefaultValueFactory = _ => 8090 };
        var command = new Command("view", "Serve a web viewer of classify results: the runs, and each slide at full resolution with the model's layers over it.") { results, slides, port };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var source = new ResultsFolderSource(parse.GetValue(results)!, parse.GetValue(slides)!);
            await using ViewerServer server = await ViewerServer.StartAsync(source, parse.GetValue(port), cancellationToken: cancellationToken);
            Console.WriteLine($"viewer: {server.Address} (Ctrl+C stops)");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine("stopping");
            }

            return 0;
        });
        return command;
    }
}
