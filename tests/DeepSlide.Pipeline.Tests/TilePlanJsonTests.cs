using DeepSlide.Slides;
using DeepSlide.Tiling;

using DeepSlide.Results;

namespace DeepSlide.Pipeline.Tests;

public sealed class TilePlanJsonTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-plan-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_plan_with_its_tissue_mask_round_trips_exactly_and_the_mask_is_stored_as_bits()
    {
        string slide = LocalPipeline.WriteSlide(_folder, "plan.svs", seed: 21);
        TilePlan plan;
        using (ISlideReader reader = SlideReader.Open(slide))
        {
            plan = TilePlanner.Plan(reader, new TilingOptions());
        }

        Assert.NotNull(plan.Mask);
        string json = TilePlanJson.Serialize(plan);
        TilePlan back = TilePlanJson.Deserialize(json, "plan.json");
        Assert.Equal(plan.Tiles, back.Tiles);
        Assert.Equal((plan.Columns, plan.Rows, plan.Downsample), (back.Columns, back.Rows, back.Downsample));
        Assert.Equal(plan.Mask.Pixels, back.Mask!.Pixels);
        Assert.Equal((plan.Mask.Width, plan.Mask.Height, plan.Mask.Downsample), (back.Mask.Width, back.Mask.Height, back.Mask.Downsample));
        Assert.DoesNotContain("true", json, StringComparison.Ordinal);
        Assert.True(json.Length < plan.Mask.Pixels.Length / 4 + (plan.Tiles.Count * 200), $"{json.Length} characters");
    }

    [Fact]
    public void A_plan_that_is_not_json_or_has_a_short_mask_is_refused_naming_the_blob()
    {
        Assert.Contains("runs/x/plan.json", Assert.Throws<DeepSlideException>(() => TilePlanJson.Deserialize("{not json", "runs/x/plan.json")).Message);
        string shortMask = """{"plan":{"slidePath":"s","slideWidth":1,"slideHeight":1,"level":0,"levelDownsample":1,"downsample":1,"window":224,"stride":224,"columns":1,"rows":1,"tissueMethod":"otsu","minTissueFraction":0.5,"tiles":[]},"mask":{"width":10,"height":10,"downsample":1,"bits":"AA=="}}""";
        Assert.Contains("8 bits for 10 x 10 pixels", Assert.Throws<DeepSlideException>(() => TilePlanJson.Deserialize(shortMask, "runs/y/plan.json")).Message);
    }
}
