using DeepSlide.Imaging;
using DeepSlide.Slides.OpenSlide;

namespace DeepSlide.Slides.Tests;

public class OpenSlideReaderTests(SlideFiles files) : IClassFixture<SlideFiles>
{
    [Fact]
    public void A_generic_tiled_tiff_opens_with_its_pyramid_and_mpp_from_the_resolution_tags()
    {
        using ISlideReader reader = SlideReader.Open(files.GenericTiff);
        Assert.IsType<OpenSlideReader>(reader);
        SlideInfo info = reader.Info;
        Assert.Equal("generic-tiff", info.Vendor);
        Assert.Equal([(3000L, 2200L, 1.0), (750L, 550L, 4.0)], info.Levels.Select(l => (l.Width, l.Height, l.Downsample)));
        Assert.Equal(0.5, info.MppX!.Value, 6);
        Assert.Null(info.ObjectivePower);
        Assert.Empty(info.AssociatedImages);
    }

    [Fact]
    public void An_aperio_description_makes_openslide_see_the_aperio_vendor_with_mpp_objective_and_associated_images()
    {
        using ISlideReader reader = SlideReader.Open(files.Aperio);
        SlideInfo info = reader.Info;
        Assert.Equal("aperio", info.Vendor);
        Assert.Equal(0.5, info.MppX);
        Assert.Equal(0.5, info.MppY);
        Assert.Equal(20, info.ObjectivePower);
        Assert.Equal("20", info.Properties["aperio.AppMag"]);
        Assert.Equal(["label", "macro"], info.AssociatedImages.Order());

        RgbImage label = reader.ReadAssociatedImage("label");
        Assert.Equal((160, 120), (label.Width, label.Height));
        Assert.Equal((250, 250, 250), (label[2, 2].R, label[2, 2].G, label[2, 2].B));
        RgbImage macro = reader.ReadAssociatedImage("macro");
        Assert.Equal((46, 34), (macro.Width, macro.Height));

        var ex = Assert.Throws<DeepSlideException>(() => reader.ReadAssociatedImage("barcode"));
        Assert.Contains("aperio.svs", ex.Message);
        Assert.Contains("label, macro", ex.Message);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 4)]
    public void Regions_match_the_rendered_slide_at_the_right_place_within_jpeg_error(int level, int downsample)
    {
        using ISlideReader reader = SlideReader.Open(files.Aperio);
        const int W = 300, H = 200;
        (long x0, long y0) = files.TissueRegion(W * downsample, H * downsample);
        long x = x0 / downsample, y = y0 / downsample;
        RgbImage read = reader.ReadRegion(level, x * downsample, y * downsample, W, H);
        double Error(long dx)
        {
            var expected = new byte[W * H * 3];
            files.Slide.Render(downsample, x + dx, y, W, H, expected);
            return read.Pixels.Zip(expected, (a, b) => Math.Abs(a - b)).Average();
        }

        // JPEG at quality 85 leaves a few levels of error on busy texture; five pixels off leaves far more.
        double aligned = Error(0), shifted = Error(5);
        Assert.True(aligned < 8, $"mean absolute error {aligned:0.00}");
        Assert.True(aligned < shifted / 2, $"aligned {aligned:0.00} vs shifted {shifted:0.00}");
    }

    [Fact]
    public void Pixels_beyond_the_slide_come_back_white()
    {
        using ISlideReader reader = SlideReader.Open(files.GenericTiff);
        RgbImage region = reader.ReadRegion(0, 2900, 2100, 224, 224);
        for (int y = 0; y < 224; y++)
        {
            for (int x = 0; x < 224; x++)
            {
                if (x >= 100 || y >= 100)
                {
                    Assert.Equal(((byte)255, (byte)255, (byte)255), region[x, y]);
                }
            }
        }

        RgbImage outside = reader.ReadRegion(0, -500, -500, 64, 64);
        Assert.All(outside.Pixels, p => Assert.Equal(255, p));
    }

    [Fact]
    public void Concurrent_reads_return_the_same_pixels_as_sequential_reads()
    {
        using ISlideReader reader = SlideReader.Open(files.Aperio);
        var positions = Enumerable.Range(0, 64).Select(i => ((long)(i * 37 % 2700), (long)(i * 53 % 1900))).ToArray();
        byte[][] sequential = positions.Select(p => reader.ReadRegion(0, p.Item1, p.Item2, 224, 224).Pixels).ToArray();
        var parallel = new byte[positions.Length][];
        Parallel.For(0, positions.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            parallel[i] = reader.ReadRegion(0, positions[i].Item1, positions[i].Item2, 224, 224).Pixels);
        for (int i = 0; i < positions.Length; i++)
        {
            Assert.Equal(sequential[i], parallel[i]);
        }
    }

    [Fact]
    public void A_thumbnail_fits_the_requested_size_and_keeps_the_aspect_ratio()
    {
        using ISlideReader reader = SlideReader.Open(files.Aperio);
        RgbImage thumbnail = reader.ReadThumbnail(300);
        Assert.Equal((300, 220), (thumbnail.Width, thumbnail.Height));
        Assert.True(thumbnail.Pixels.Any(p => p < 200), "the thumbnail shows tissue");
    }

    [Fact]
    public void A_missing_level_is_an_error_naming_the_file()
    {
        using ISlideReader reader = SlideReader.Open(files.GenericTiff);
        var ex = Assert.Throws<DeepSlideException>(() => reader.ReadRegion(2, 0, 0, 10, 10, new byte[300]));
        Assert.Equal(DeepSlideErrorReason.LevelUnavailable, ex.Reason);
        Assert.Contains("generic.tif", ex.Message);
        Assert.Contains("levels 0 to 1", ex.Message);
    }

    [Fact]
    public void Premultiplied_argb_over_white_becomes_plain_rgb()
    {
        uint[] argb = [0xFF102030, 0x00000000, 0x80400000];
        var rgb = new byte[9];
        PixelConversion.PremultipliedArgbToRgbOnWhite(argb, rgb);
        Assert.Equal(new byte[] { 0x10, 0x20, 0x30, 255, 255, 255, 0x40 + 127, 127, 127 }, rgb);
    }
}
