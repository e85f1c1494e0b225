namespace DeepSlide.Tiling;

/// <summary>
/// One window of a tile plan. (<see cref="X"/>, <see cref="Y"/>) is its top-left corner in level-0 pixels;
/// <see cref="Column"/> and <see cref="Row"/> are its place in the plan's grid.
/// </summary>
public readonly record struct Tile(int Index, int Column, int Row, long X, long Y, float TissueFraction);
