using DeepSlide.Synthesis;

namespace DeepSlide.Inference.Tests;

internal static class PatchImages
{
    /// <summary>Synthetic 224 x 224 patches of the given classes, rendered straight from the tissue textures.</summary>
    public static List<byte[]> Render(int count, int seed)
    {
        var patches = new List<byte[]>();
        string[] classes = ["adenocarcinoma", "benign", "squamous"];
        for (int i = 0; i < count; i++)
        {
            var slide = new SyntheticSlide(new SyntheticSlideSpec(classes[i % 3], 2048, 2048, seed + i) { TissueCoverage = 0.95 });
            var rgb = new byte[224 * 224 * 3];
            slide.Render(1, 900 + i * 7, 900, 224, 224, rgb);
            patches.Add(rgb);
        }

        return patches;
    }
}
