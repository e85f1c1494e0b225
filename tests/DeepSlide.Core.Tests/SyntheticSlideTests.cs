using DeepSlide.Synthesis;

namespace DeepSlide.Core.Tests;

public class SyntheticSlideTests
{
    [Fact]
    public void The_same_seed_renders_the_same_pixels()
    {
        var spec = new SyntheticSlideSpec("squamous", 2048, 1536, Seed: 5);
        byte[] a = new byte[300 * 200 * 3], b = new byte[300 * 200 * 3];
        new SyntheticSlide(spec).Render(1, 700, 600, 300, 200, a);
        new SyntheticSlide(spec).Render(1, 700, 600, 300, 200, b);
        Assert.Equal(a, b);
        new SyntheticSlide(spec with { Seed = 6 }).Render(1, 700, 600, 300, 200, b);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Tissue_covers_roughly_the_requested_share_and_the_border_is_background()
    {
        var slide = new SyntheticSlide(new SyntheticSlideSpec("benign", 4096, 3072, Seed: 2) { TissueCoverage = 0.4 });
        int tissue = 0, total = 0;
        for (long y = 8; y < 3072; y += 16)
        {
            for (long x = 8; x < 4096; x += 16)
            {
                tissue += slide.IsTissue(x, y) ? 1 : 0;
                total++;
            }
        }

        Assert.InRange(tissue / (double)total, 0.3, 0.5);
        Assert.False(slide.IsTissue(5, 5));
        Assert.False(slide.IsTissue(4090, 3066));
    }

    [Fact]
    public void Mixed_slides_draw_about_the_requested_share_of_benign_tissue()
    {
        var slide = new SyntheticSlide(new SyntheticSlideSpec("adenocarcinoma", 8192, 8192, Seed: 9) { BenignFraction = 0.3 });
        (int tumour, int tissue) = TumourAndTissue(slide, step: 32);
        Assert.InRange((tissue - tumour) / (double)tissue, 0.15, 0.45);
    }

    [Fact]
    public void A_sparse_slide_holds_its_small_share_of_tumour_in_the_tissue_not_on_the_background()
    {
        // The demo's sparse slides: 2400 x 1800, 85-95% benign. Before the share was of the tissue, the tumour regions
        // were placed regardless of it, and seed 7's slide held no tumour tissue at all.
        var shares = new List<double>();
        for (int seed = 1; seed <= 12; seed++)
        {
            var slide = new SyntheticSlide(new SyntheticSlideSpec(seed % 2 == 0 ? "squamous" : "adenocarcinoma", 2400, 1800, seed) { BenignFraction = 0.85 + (0.01 * (seed % 11)) });
            (int tumour, int tissue) = TumourAndTissue(slide, step: 16);

            Assert.True(tumour * 16 * 16 >= 224 * 224, $"seed {seed}: {tumour * 256 / (224.0 * 224):0.00} patch areas of tumour tissue");
            shares.Add(tumour / (double)tissue);
        }

        Assert.True(shares.Max() <= 0.3, $"tumour shares of the tissue: {string.Join(", ", shares.Select(s => s.ToString("0.000")))}");
        Assert.InRange(shares.Average(), 0.05, 0.2);
    }

    [Fact]
    public void Every_class_is_purple_tissue_under_DeepSlides_rule_and_the_background_is_not()
    {
        foreach (TissueClassStyle style in TissueClassStyle.All)
        {
            var slide = new SyntheticSlide(new SyntheticSlideSpec(style.Name, 4096, 4096, Seed: 1) { TissueCoverage = 0.9 });
            var patch = new byte[224 * 224 * 3];
            slide.Render(1, 1900, 1900, 224, 224, patch);
            Assert.True(Tissue.PurpleRule.IsTissue(patch, 224), style.Name);
        }

        var blank = new byte[224 * 224 * 3];
        new SyntheticSlide(new SyntheticSlideSpec("benign", 4096, 4096, Seed: 1)).Render(1, 0, 0, 224, 224, blank);
        Assert.False(Tissue.PurpleRule.IsTissue(blank, 224));
    }

    [Fact]
    public void An_unknown_class_names_the_known_ones()
    {
        var ex = Assert.Throws<DeepSlideException>(() => new SyntheticSlide(new SyntheticSlideSpec("lymphoma", 100, 100, 1)));
        Assert.Contains("adenocarcinoma, benign, squamous", ex.Message);
    }

    // Points on a grid of the given step, at cell centres: how many are tissue, and how many of those are not benign.
    private static (int Tumour, int Tissue) TumourAndTissue(SyntheticSlide slide, int step)
    {
        int tumour = 0, tissue = 0;
        for (long y = step / 2; y < slide.Spec.Height; y += step)
        {
            for (long x = step / 2; x < slide.Spec.Width; x += step)
            {
                if (slide.IsTissue(x, y))
                {
                    tissue++;
                    tumour += slide.ClassAt(x, y) == "benign" ? 0 : 1;
                }
            }
        }

        return (tumour, tissue);
    }
}
