using DeepSlide.Imaging;
using DeepSlide.Slides.Raster;
using SkiaSharp;

namespace DeepSlide.Slides.Tests;

public class RasterAndPlainTiffTests(SlideFiles files) : IClassFixture<SlideFiles>
{
    [Fact]
    public void A_flat_jpeg_is_a_one_level_slide_matching_the_rendered_pixels()
    {
        using ISlideReader reader = SlideReader.Open(files.Jpeg);
        Assert.IsType<RasterSlideReader>(reader);
        Assert.Equal("jpeg", reader.Info.Vendor);
        Assert.Equal([(3000L, 2200L)], reader.Info.Levels.Select(l => (l.Width, l.Height)));
        (long x, long y) = files.TissueRegion(200, 100);
        RgbImage read = reader.ReadRegion(0, x, y, 200, 100);
        var expected = new byte[200 * 100 * 3];
        files.Slide.Render(1, x, y, 200, 100, expected);
        Assert.True(read.Pixels.Zip(expected, (a, b) => Math.Abs(a - b)).Average() < 8);
        Assert.Contains(expected, v => v < 150); // the region is stained tissue, not background
        Assert.Throws<DeepSlideException>(() => reader.ReadRegion(1, 0, 0, 1, 1, new byte[3]));
    }

    [Fact]
    public void Transparent_png_pixels_become_white_and_regions_beyond_the_edge_are_white()
    {
        string path = files.PathFor("alpha.png");
        using (var bitmap = new SKBitmap(new SKImageInfo(4, 2, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            bitmap.SetPixel(0, 0, new SKColor(10, 20, 30, 255));
            bitmap.SetPixel(1, 0, new SKColor(10, 20, 30, 0));
            bitmap.SetPixel(2, 0, new SKColor(0, 0, 0, 128));
            using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(path, data.ToArray());
        }

        using ISlideReader reader = SlideReader.Open(path);
        Assert.Equal("png", reader.Info.Vendor);
        RgbImage image = reader.ReadRegion(0, 0, 0, 5, 3);
        Assert.Equal(((byte)10, (byte)20, (byte)30), image[0, 0]);
        Assert.Equal(((byte)255, (byte)255, (byte)255), image[1, 0]);
        Assert.Equal(((byte)127, (byte)127, (byte)127), image[2, 0]);
        Assert.Equal(((byte)255, (byte)255, (byte)255), image[4, 2]);
    }

    [Theory]
    [InlineData("none", 1000)]
    [InlineData("lzw", 7)]
    [InlineData("lzw:2", 16)]
    [InlineData("zip", 5)]
    [InlineData("zip:2", 64)]
    [InlineData("packbits", 3)]
    public void A_plain_stripped_tiff_decodes_losslessly_whatever_libtiff_compressed_it_with(string compression, int rowsPerStrip)
    {
        var original = new RgbImage(203, 97);
        (long x, long y) = files.TissueRegion(203, 97);
        files.Slide.Render(1, x, y, 203, 97, original.Pixels);
        Assert.True(original.Pixels.Distinct().Count() > 50, "the test image is textured");
        string uncompressed = files.PathFor($"plain-{compression.Replace(':', '-')}-src.tif");
        string path = files.PathFor($"plain-{compression.Replace(':', '-')}.tif");
        PlainTiff.WriteUncompressed(uncompressed, original, rowsPerStrip: 10);
        PlainTiff.Recompress(uncompressed, path, compression, rowsPerStrip);

        using ISlideReader reader = SlideReader.Open(path);
        Assert.Equal("tiff", reader.Info.Vendor);
        Assert.Equal(original.Pixels, reader.ReadRegion(0, 0, 0, 203, 97).Pixels);
    }

    [Theory]
    [InlineData("RGBA", "tiff_lzw")]
    [InlineData("RGBA", "raw")]
    [InlineData("L", "tiff_adobe_deflate")]
    public void A_plain_tiff_with_alpha_or_grey_written_by_Pillow_reads_as_Pillow_composites_it_over_white(string mode, string compression)
    {
        // Pillow (python3-pil, installed with python3-openslide) writes the file and is the reference for its pixels:
        // straight alpha over a white background, grey as equal channels.
        string path = files.PathFor($"pillow-{mode}-{compression}.tif"), expected = path + ".rgb";
        string script = $$"""
            import random
            from PIL import Image
            random.seed(5)
            w, h = 37, 23
            if "{{mode}}" == "RGBA":
                im = Image.frombytes("RGBA", (w, h), bytes(random.randrange(256) for _ in range(w * h * 4)))
                flat = Image.alpha_composite(Image.new("RGBA", (w, h), (255, 255, 255, 255)), im).convert("RGB")
            else:
                im = Image.frombytes("L", (w, h), bytes(random.randrange(256) for _ in range(w * h)))
                flat = im.convert("RGB")
            im.save("{{path}}", compression="{{compression}}")
            open("{{expected}}", "wb").write(flat.tobytes())
            """;
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using (var python = System.Diagnostics.Process.Start(start)!)
        {
            string errors = python.StandardError.ReadToEnd();
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, $"the reference (Pillow; scripts/prerequisites.sh installs it with python3-openslide) failed: {errors}");
        }

        using ISlideReader reader = SlideReader.Open(path);
        byte[] read = reader.ReadRegion(0, 0, 0, 37, 23).Pixels, reference = File.ReadAllBytes(expected);
        Assert.Equal(reference.Length, read.Length);

        // Pillow rounds its compositing in its own way: at most one level apart, and most pixels exactly equal.
        Assert.All(read.Zip(reference), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 1));
        Assert.True(read.Zip(reference).Count(p => p.First == p.Second) > 0.9 * read.Length);
    }

    [Fact]
    public void An_image_round_trips_through_png_exactly()
    {
        var image = new RgbImage(31, 17);
        new Random(4).NextBytes(image.Pixels);
        string path = files.PathFor("round.png");
        ImageFiles.Save(image, path);
        Assert.Equal(image.Pixels, ImageFiles.Load(path).Pixels);
    }
}
