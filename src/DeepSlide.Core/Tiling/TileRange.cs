namespace DeepSlide.Tiling;

/// <summary>A contiguous run of a plan's tiles: the unit of work fanned out to inference workers.</summary>
public readonly record struct TileRange(int Index, int Start, int Count)
{
    public int End => Start + Count;
}
