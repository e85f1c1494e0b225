using DeepSlide.Aggregation;
using DeepSlide.Slides;

namespace DeepSlide.Visualization;

/// <summary>Writes a classified slide's pictures and QuPath export next to its results.</summary>
public static class ResultPictures
{
    /// <summary>
    /// <c>thumbnails/{slide}.png</c>, <c>overlays/{slide}.png</c>, <c>heatmaps/{slide}_{class}.png</c>, <c>attention/{slide}.png</c> (when a method weighs patches), <c>masks/{slide}.png</c> and
    /// <c>qupath/{slide}.geojson</c>; returns the files written.
    /// </summary>
    public static IReadOnlyList<string> Write(ISlideReader reader, SlideResult result, string folder, PictureOptions? options = null)
    {
        if (result.Plan is null)
        {
            return [];
        }

        var written = new List<string>();
        string Path(string sub, string name)
        {
            Directory.CreateDirectory(System.IO.Path.Combine(folder, sub));
            string path = System.IO.Path.Combine(folder, sub, name);
            written.Add(path);
            return path;
        }

        using var pictures = new SlidePictures(reader, options);
        using (var thumbnail = pictures.Thumbnail())
        {
            SlidePictures.SavePng(thumbnail, Path("thumbnails", result.SlideName + ".png"));
        }

        using (var overlay = pictures.ClassOverlay(result.Plan, result.Patches))
        {
            SlidePictures.SavePng(overlay, Path("overlays", result.SlideName + ".png"));
        }

        for (int c = 0; c < result.Patches.Classes.Count; c++)
        {
            using var heatmap = pictures.Heatmap(result.Plan, result.Patches, c);
            SlidePictures.SavePng(heatmap, Path("heatmaps", $"{result.SlideName}_{result.Patches.Classes[c]}.png"));
        }

        foreach (SlideCall call in result.Calls.Where(c => c.PatchWeights is not null))
        {
            using var weights = pictures.Weights(result.Plan, call.PatchWeights!, $"{call.Method} attention (relative)");
            SlidePictures.SavePng(weights, Path("attention", result.SlideName + ".png"));
        }

        if (result.Plan.Mask is { } mask)
        {
            using var picture = pictures.TissueMask(mask);
            SlidePictures.SavePng(picture, Path("masks", result.SlideName + ".png"));
        }

        using (var stream = File.Create(Path("qupath", result.SlideName + ".geojson")))
        {
            QuPathGeoJson.Write(stream, result.Plan, result.Patches, options?.ClassColours, result.Calls);
        }

        return written;
    }
}
