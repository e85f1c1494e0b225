using DeepSlide.Models;
using DeepSlide.Tiling;

namespace DeepSlide.Core.Tests;

public class ClassificationSetupTests
{
    [Fact]
    public void A_manifest_stride_tiles_with_overlap_and_none_steps_by_the_window()
    {
        var manifest = new ModelManifest { Classes = ["benign", "tumour"] };
        Assert.Equal(224, ClassificationSetup.TilingFor(manifest).EffectiveStride);

        ModelManifest overlapping = manifest with { Patch = manifest.Patch with { Stride = 112 } };
        overlapping.Validate("manifest.json");
        var reader = new FunctionSlideReader(224 * 4, 224 * 2) { Pixel = (_, _) => (120, 40, 140) };
        TilePlan plan = TilePlanner.Plan(reader, ClassificationSetup.TilingFor(overlapping) with { TissueMethod = Tissue.TissueMethod.Purple });
        Assert.Equal((7, 3), (plan.Columns, plan.Rows));
        Assert.Equal(112, plan.Tiles[1].X - plan.Tiles[0].X);
    }

    [Fact]
    public void A_stride_beyond_the_window_is_refused_naming_the_field()
    {
        var manifest = new ModelManifest { Classes = ["benign", "tumour"] };
        var ex = Assert.Throws<DeepSlideException>(() => (manifest with { Patch = manifest.Patch with { Stride = 300 } }).Validate("manifest.json"));
        Assert.Contains("'patch.stride' (300) must be between 1 and the window (224)", ex.Message);
    }
}
