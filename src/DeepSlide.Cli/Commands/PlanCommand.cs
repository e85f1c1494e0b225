using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSlide.Imaging;
using DeepSlide.Patches;
using DeepSlide.Slides;
using DeepSlide.Tiling;

namespace DeepSlide.Cli.Commands;

internal static class PlanCommand
{
    public static Command Create()
    {
        var slide = new Argument<string>("slide") { Description = "A slide file." };
        var output = new Option<string?>("--out", "-o") { Description = "Folder for plan.json, mask.png and thumbnail.png." };
        var rangeSize = new Option<int>("--range-size") { Description = "Tiles per range (the unit of work sent to workers).", DefaultValueFactory = _ => 256 };
        var patches = new Option<bool>("--patches") { Description = "Also stream every planned patch to <out>/patches as JPEG." };
        var tiling = new TilingOptionSet();
        var command = new Command("plan", "Detect tissue on a low-resolution level and lay out the tiles of one slide.") { slide, output, rangeSize, patches };
        tiling.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            string path = parse.GetValue(slide)!;
            using ISlideReader reader = SlideReader.Open(path);
            TilePlan plan = TilePlanner.Plan(reader, tiling.Read(parse));
            IReadOnlyList<TileRange> ranges = plan.Split(parse.GetValue(rangeSize));
            var c = CultureInfo.InvariantCulture;
            Console.WriteLine($"slide      {path} ({reader.Info.Vendor}, {reader.Info.Width} x {reader.Info.Height})");
            Console.WriteLine(string.Create(c, $"working    level {plan.Level}, downsample {plan.Downsample:0.###}, window {plan.Window}, stride {plan.Stride}"));
            Console.WriteLine(string.Create(c, $"tissue     {plan.TissueMethod.ToString().ToLowerInvariant()}, {plan.Mask!.TissueFraction:P1} of the slide; tiles kept above {plan.MinTissueFraction:0.###}"));
            Console.WriteLine($"grid       {plan.Columns} x {plan.Rows} = {plan.GridTileCount} tiles, {plan.Tiles.Count} with tissue, {ranges.Count} range(s)");
            if (plan.IsEmpty)
            {
                Console.WriteLine("no tissue: the plan is empty.");
            }

            if (parse.GetValue(output) is string folder)
            {
                Directory.CreateDirectory(folder);
                await File.WriteAllTextAsync(Path.Combine(folder, "plan.json"), JsonSerializer.Serialize(new { plan, ranges }, JsonOptions), cancellationToken);
                ImageFiles.Save(plan.Mask.ToImage(), Path.Combine(folder, "mask.png"));
                ImageFiles.Save(reader.ReadThumbnail(1024), Path.Combine(folder, "thumbnail.png"));
                int written = 0;
                if (parse.GetValue(patches))
                {
                    string patchFolder = Path.Combine(folder, "patches");
                    Directory.CreateDirectory(patchFolder);
                    await foreach (Patch patch in PatchStream.ReadAsync(reader, plan, cancellationToken: cancellationToken))
                    {
                        using (patch)
                        {
                            ImageFiles.Save(patch.Pixels, patch.Size, patch.Size, Path.Combine(patchFolder, Datasets.PatchFileName.Format(plan.SlideName, patch.Tile.X, patch.Tile.Y)));
                            written++;
                        }
                    }
                }

                Console.WriteLine($"wrote      {folder}: plan.json, mask.png, thumbnail.png{(written > 0 ? $", {written} patches" : string.Empty)}");
            }

            return 0;
        });
        return command;
    }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
