using DeepSlide.Imaging;
using DeepSlide.Tissue;

namespace DeepSlide.Core.Tests;

public class TissueMaskerTests
{
    [Fact]
    public void Otsu_splits_a_bimodal_histogram_between_its_modes()
    {
        byte[] values = [.. Enumerable.Repeat((byte)20, 500), .. Enumerable.Repeat((byte)180, 300)];
        int t = Otsu.Threshold(values);
        Assert.InRange(t, 20, 179);
    }

    [Fact]
    public void Otsu_mask_finds_a_pink_rectangle_on_white_and_drops_a_single_speck()
    {
        RgbImage image = RgbImage.Filled(40, 30, 245, 243, 246);
        for (int y = 10; y < 20; y++)
        {
            for (int x = 5; x < 25; x++)
            {
                image[x, y] = (220, 130, 190);
            }
        }

        image[35, 2] = (120, 40, 140); // a lone dark speck: dust, not tissue
        TissueMask mask = new OtsuTissueMasker().Compute(image, downsample: 8);
        Assert.Equal(200, mask.TissuePixelCount);
        Assert.True(mask[5, 10]);
        Assert.True(mask[24, 19]);
        Assert.False(mask[4, 10]);
        Assert.False(mask[35, 2]);
        Assert.Equal(8, mask.Downsample);
    }

    [Fact]
    public void Otsu_mask_of_a_blank_slide_is_empty_despite_noise()
    {
        var random = new Random(3);
        var image = new RgbImage(64, 64);
        for (int i = 0; i < image.Pixels.Length; i++)
        {
            image.Pixels[i] = (byte)random.Next(236, 250);
        }

        Assert.Equal(0, new OtsuTissueMasker().Compute(image, 14).TissuePixelCount);
    }

    [Fact]
    public void Purple_mask_marks_exactly_the_purple_pixels()
    {
        RgbImage image = RgbImage.Filled(4, 1, 255, 255, 255);
        image[1, 0] = (141, 100, 100);
        image[2, 0] = (140, 100, 100);
        TissueMask mask = new PurpleTissueMasker().Compute(image, 14);
        Assert.Equal([false, true, false, false], mask.Pixels);
    }

    [Fact]
    public void Closing_fills_a_one_pixel_hole_and_opening_removes_a_one_pixel_line()
    {
        var mask = new bool[7 * 7];
        for (int y = 1; y < 6; y++)
        {
            for (int x = 1; x < 6; x++)
            {
                mask[y * 7 + x] = true;
            }
        }

        mask[3 * 7 + 3] = false;
        bool[] closed = Morphology.Close(mask, 7, 7, 1);
        Assert.True(closed[3 * 7 + 3]);
        Assert.Equal(25, closed.Count(v => v));

        var line = new bool[7 * 7];
        for (int x = 0; x < 7; x++)
        {
            line[3 * 7 + x] = true;
        }

        Assert.DoesNotContain(true, Morphology.Open(line, 7, 7, 1));
    }

    [Fact]
    public void Fraction_of_a_rectangle_counts_outside_the_slide_as_background()
    {
        // 4x4 mask at downsample 10: the left half is tissue.
        var pixels = new bool[16];
        for (int y = 0; y < 4; y++)
        {
            pixels[y * 4] = pixels[y * 4 + 1] = true;
        }

        var mask = new TissueMask(4, 4, 10, pixels);
        Assert.Equal(1.0, mask.FractionOf(0, 0, 20, 40));
        Assert.Equal(0.5, mask.FractionOf(0, 0, 40, 40));
        Assert.Equal(0.0, mask.FractionOf(20, 0, 20, 20));
        // Mask columns 1..4, of which column 4 lies outside the slide; only column 1 is tissue.
        Assert.Equal(0.25, mask.FractionOf(10, 0, 40, 40));
    }

    [Fact]
    public void Unknown_tissue_method_names_the_choices()
    {
        var ex = Assert.Throws<DeepSlideException>(() => TissueMasker.ParseMethod("magic"));
        Assert.Contains("otsu", ex.Message);
        Assert.Equal(TissueMethod.Purple, TissueMasker.ParseMethod("DeepSlide"));
    }
}
