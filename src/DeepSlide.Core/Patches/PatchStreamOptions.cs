namespace DeepSlide.Patches;

public sealed record PatchStreamOptions
{
    /// <summary>Regions read ahead of the consumer; bounds memory to about this many regions.</summary>
    public int ReadAhead { get; init; } = Environment.ProcessorCount + 2;

    /// <summary>
    /// Reader threads, each with its own handle on the slide where the reader can open one
    /// (<see cref="Slides.ISlideReader.OpenAnother"/>). One per core by default: decoding, not the disk, is the cost.
    /// </summary>
    public int Readers { get; init; } = Environment.ProcessorCount;

    /// <summary>At most this many tiles are cut from one region read.</summary>
    public int MaxTilesPerRegion { get; init; } = 8;

    /// <summary>A gap wider than this many tiles between two tiles of a row starts a new region.</summary>
    public int MaxGapTiles { get; init; } = 0;
}
