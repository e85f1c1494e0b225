using System.CommandLine;
using System.Globalization;
using DeepSlide.Slides;

namespace DeepSlide.Cli.Commands;

internal static class InfoCommand
{
    public static Command Create()
    {
        var slide = new Argument<string>("slide") { Description = "A slide file." };
        var command = new Command("info", "Print a slide's levels, resolution, vendor and associated images.") { slide };
        command.SetAction(parse =>
        {
            using ISlideReader reader = SlideReader.Open(parse.GetValue(slide)!);
            SlideInfo info = reader.Info;
            Console.WriteLine($"slide     {info.Path}");
            Console.WriteLine($"vendor    {info.Vendor}");
            Console.WriteLine($"size      {info.Width} x {info.Height}");
            Console.WriteLine($"mpp       {Format(info.MppX)} x {Format(info.MppY)}");
            Console.WriteLine($"objective {Format(info.ObjectivePower)}");
            foreach (SlideLevel level in info.Levels)
            {
                Console.WriteLine($"level {level.Index,-3} {level.Width,8} x {level.Height,-8} downsample {level.Downsample.ToString("0.###", CultureInfo.InvariantCulture)}");
            }

            Console.WriteLine($"associated {(info.AssociatedImages.Count == 0 ? "(none)" : string.Join(", ", info.AssociatedImages))}");
            return 0;
        });
        return command;
    }

    private static string Format(double? value) => value?.ToString("0.####", CultureInfo.InvariantCulture) ?? "unknown";
}
