namespace DeepSlide.Slides.Tests;

public class BadInputTests(SlideFiles files) : IClassFixture<SlideFiles>
{
    private DeepSlideException OpenFails(string path, DeepSlideErrorReason reason, string problem)
    {
        var ex = Assert.Throws<DeepSlideException>(() => SlideReader.Open(path).Dispose());
        Assert.Equal(reason, ex.Reason);
        Assert.Equal(path, ex.Path);
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.Contains(problem, ex.Message);
        return ex;
    }

    [Fact]
    public void A_missing_file() => OpenFails(files.PathFor("nowhere.svs"), DeepSlideErrorReason.FileNotFound, "does not exist");

    [Fact]
    public void A_zero_byte_file()
    {
        string path = files.PathFor("empty.svs");
        File.WriteAllBytes(path, []);
        OpenFails(path, DeepSlideErrorReason.EmptyFile, "empty (0 bytes)");
    }

    [Fact]
    public void A_truncated_pyramidal_tiff()
    {
        string path = files.PathFor("truncated.svs");
        byte[] whole = File.ReadAllBytes(files.Aperio);
        File.WriteAllBytes(path, whole[..(whole.Length * 3 / 5)]);
        OpenFails(path, DeepSlideErrorReason.CorruptFile, "truncated");
    }

    [Fact]
    public void A_tiff_whose_image_data_is_cut_off_names_the_strip()
    {
        // The directory comes first and survives; the pixel data after it is cut short.
        string source = files.PathFor("cut-src.tif");
        PlainTiff.WriteUncompressed(source, new Imaging.RgbImage(64, 64), rowsPerStrip: 16);
        byte[] whole = File.ReadAllBytes(source);
        string path = files.PathFor("cut.tif");
        File.WriteAllBytes(path, whole[..(whole.Length - 5000)]);
        OpenFails(path, DeepSlideErrorReason.CorruptFile, "strip 2 lies at bytes");
    }

    [Fact]
    public void A_truncated_jpeg()
    {
        string path = files.PathFor("truncated.jpg");
        byte[] whole = File.ReadAllBytes(files.Jpeg);
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
        OpenFails(path, DeepSlideErrorReason.CorruptFile, "truncated");
    }

    [Fact]
    public void A_text_file_named_like_a_slide()
    {
        string path = files.PathFor("notes.svs");
        File.WriteAllText(path, "patient notes, not a slide\n");
        OpenFails(path, DeepSlideErrorReason.UnsupportedFormat, "not a slide format");
    }

    [Fact]
    public void A_text_file_named_like_a_jpeg()
    {
        string path = files.PathFor("notes.jpg");
        File.WriteAllText(path, "not a picture\n");
        OpenFails(path, DeepSlideErrorReason.UnsupportedFormat, "could not be decoded");
    }

    [Fact]
    public void An_unsupported_format()
    {
        string path = files.PathFor("scan.czi");
        File.WriteAllBytes(path, [.. "ZISRAWFILE"u8, .. new byte[200]]);
        OpenFails(path, DeepSlideErrorReason.UnsupportedFormat, "OpenSlide's: SVS, NDPI");
    }

    [Fact]
    public void A_plain_tiff_whose_compressed_strip_is_garbage_names_the_row_and_the_strip()
    {
        string source = files.PathFor("garbled-src.tif");
        var image = new Imaging.RgbImage(64, 64);
        new Random(3).NextBytes(image.Pixels);
        PlainTiff.WriteUncompressed(source, image, 16);
        string path = files.PathFor("garbled.tif");
        PlainTiff.Recompress(source, path, "zip", 16);
        byte[] bytes = File.ReadAllBytes(path);
        Tiff.TiffDirectory d = Tiff.TiffStructure.Read(path).FirstDirectory;
        bytes.AsSpan((int)d.DataOffsets[1], (int)d.DataByteCounts[1]).Fill(0x5A);
        File.WriteAllBytes(path, bytes);

        DeepSlideException ex = OpenFails(path, DeepSlideErrorReason.CorruptFile, "row 16 (strip 1) does not decode: ");
        Assert.EndsWith("The file is corrupt.", ex.Message);
    }

    [Fact]
    public void A_plain_tiff_with_an_unsupported_compression()
    {
        string source = files.PathFor("ccitt-src.tif");
        var image = new Imaging.RgbImage(16, 16);
        PlainTiff.WriteUncompressed(source, image, 16);
        byte[] bytes = File.ReadAllBytes(source);
        // Compression is the 4th entry: header 8 + count 2 + 3 * 12, value at +8.
        bytes[8 + 2 + 3 * 12 + 8] = 3;
        string path = files.PathFor("ccitt.tif");
        File.WriteAllBytes(path, bytes);
        OpenFails(path, DeepSlideErrorReason.UnsupportedFormat, "compression 3");
    }
}
