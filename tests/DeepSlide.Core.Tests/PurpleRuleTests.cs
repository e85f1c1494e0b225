using DeepSlide.Tissue;

namespace DeepSlide.Core.Tests;

public class PurpleRuleTests
{
    // The written definition: R > G - 10, B > G - 10 and (R + B) / 2 > G + 20, each strict.
    [Theory]
    [InlineData(200, 100, 200, true)]
    [InlineData(90, 100, 200, false)] // R = G - 10 is not greater
    [InlineData(91, 100, 200, true)]
    [InlineData(200, 100, 90, false)] // B = G - 10 is not greater
    [InlineData(140, 100, 100, false)] // (R + B) / 2 = 120 = G + 20 is not greater
    [InlineData(141, 100, 100, true)]
    [InlineData(250, 250, 250, false)] // white
    [InlineData(120, 180, 120, false)] // green
    public void A_colour_is_purple_exactly_as_written(int r, int g, int b, bool purple)
    {
        Assert.Equal(purple, PurpleRule.IsPurple(r, g, b));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(100, false)]
    [InlineData(101, true)]
    [InlineData(256, true)]
    public void A_patch_is_tissue_when_more_than_100_of_256_cells_are_purple(int purpleCells, bool tissue)
    {
        byte[] patch = PatchWithPurpleCells(purpleCells);
        Assert.Equal(purpleCells, PurpleRule.CountPurpleCells(patch, 224));
        Assert.Equal(tissue, PurpleRule.IsTissue(patch, 224));
    }

    [Fact]
    public void Cells_are_judged_by_their_mean_not_by_single_pixels()
    {
        // Alternate purple (200,100,200) and white pixels: the cell mean (227.5,177.5,227.5) has (R+B)/2 = G + 50: purple.
        // Alternate purple and green (100,200,100): mean (150,150,150) is grey: not purple.
        var patch = new byte[224 * 224 * 3];
        for (int y = 0; y < 224; y++)
        {
            for (int x = 0; x < 224; x++)
            {
                bool even = (x + y) % 2 == 0;
                bool leftHalf = x < 112;
                (byte r, byte g, byte b) = even ? ((byte)200, (byte)100, (byte)200) : leftHalf ? ((byte)255, (byte)255, (byte)255) : ((byte)100, (byte)200, (byte)100);
                int i = (y * 224 + x) * 3;
                (patch[i], patch[i + 1], patch[i + 2]) = (r, g, b);
            }
        }

        Assert.Equal(128, PurpleRule.CountPurpleCells(patch, 224));
    }

    [Fact]
    public void A_patch_side_that_does_not_cut_into_16_cells_is_refused()
    {
        Assert.Throws<ArgumentException>(() => PurpleRule.CountPurpleCells(new byte[100 * 100 * 3], 100));
    }

    internal static byte[] PatchWithPurpleCells(int count)
    {
        var patch = new byte[224 * 224 * 3];
        for (int cell = 0; cell < 256; cell++)
        {
            // Purple cells sit just inside the rule's bounds; the rest sit exactly on a bound, which is not purple.
            (byte r, byte g, byte b) = cell < count ? ((byte)141, (byte)100, (byte)100) : ((byte)140, (byte)100, (byte)100);
            int cx = cell % 16, cy = cell / 16;
            for (int y = cy * 14; y < cy * 14 + 14; y++)
            {
                for (int x = cx * 14; x < cx * 14 + 14; x++)
                {
                    int i = (y * 224 + x) * 3;
                    (patch[i], patch[i + 1], patch[i + 2]) = (r, g, b);
                }
            }
        }

        return patch;
    }
}
