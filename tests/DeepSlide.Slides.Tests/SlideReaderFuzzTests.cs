using DeepSlide.Slides.Fuzzing;

namespace DeepSlide.Slides.Tests;

/// <summary>
/// Mutated TIFFs end read or refused with the product's error, never another exception or a hang. A small, seeded
/// count runs here; <c>deepslide bench --fuzz N</c> runs more.
/// </summary>
public sealed class SlideReaderFuzzTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("deepslide-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(20261204)]
    [InlineData(7)]
    public void Mutated_slides_are_read_or_refused_with_the_product_s_own_error(int seed)
    {
        FuzzReport report = SlideReaderFuzzer.Run(_folder, count: 300, seed, caseTimeout: TimeSpan.FromSeconds(30));

        Assert.Equal(300, report.Cases.Count);
        Assert.True(report.Defects.Count == 0, string.Join("\n", report.Defects.Select(d => $"case {d.Index} ({d.Base}, {d.Mutation}): {d.Outcome}")));

        // The mutations reach the readers' error paths, and some leave a readable slide: both sides are exercised.
        Assert.InRange(report.Refused, 60, 299);
        Assert.InRange(report.Read, 1, 240);
    }
}
