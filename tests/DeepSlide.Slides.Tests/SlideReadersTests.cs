using DeepSlide.Slides.Synthesis;
using DeepSlide.Synthesis;

namespace DeepSlide.Slides.Tests;

public sealed class SlideReadersTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-readers-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void A_discarded_reader_is_never_handed_out_again_and_still_serves_the_range_that_holds_it()
    {
        string slide = Path.Combine(_folder, "a.svs");
        SyntheticSlideWriter.Write(new SyntheticSlide(new SyntheticSlideSpec("benign", 1200, 900, 3)), slide, SyntheticFormat.Aperio);
        using var readers = new SlideReaders();
        var expected = new byte[64 * 64 * 3];
        var got = new byte[64 * 64 * 3];

        using SlideReaders.Lease first = readers.Open(slide);
        using (SlideReaders.Lease shared = readers.Open(slide))
        {
            Assert.Same(first.Reader, shared.Reader);
        }

        first.Reader.ReadRegion(0, 100, 100, 64, 64, expected);
        first.Discard();
        using SlideReaders.Lease after = readers.Open(slide);
        Assert.NotSame(first.Reader, after.Reader);

        // The range that still holds the discarded reader finishes with it; the new one reads the same pixels.
        first.Reader.ReadRegion(0, 100, 100, 64, 64, got);
        Assert.Equal(expected, got);
        after.Reader.ReadRegion(0, 100, 100, 64, 64, got);
        Assert.Equal(expected, got);
    }
}
