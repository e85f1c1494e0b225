using DeepSlide.Aggregation;
using DeepSlide.Results;
using DeepSlide.Tissue;
using SkiaSharp;

namespace DeepSlide.Viewer;

/// <summary>One row of the runs page.</summary>
public sealed record RunSummary(
    string RunId,
    string Slide,
    string Status,
    int RangesDone,
    int RangesTotal,
    IReadOnlyList<RunCall> Calls,
    DateTimeOffset? UpdatedUtc,
    string? Model,
    string? Error);

/// <summary>One aggregator's slide call.</summary>
public sealed record RunCall(string Method, string? Label, IReadOnlyDictionary<string, double> Scores, string? Note, FocusArea? Focus = null);

/// <summary>One patch as the Parquet stores it.</summary>
public sealed record PatchView(long X, long Y, double Side, string Prediction, float Confidence, IReadOnlyDictionary<string, float> Probabilities);

/// <summary>
/// A finished run's patch-level results, as the slide page draws them: per patch its level-0 corner and probabilities
/// (from the run's Parquet), the plan's geometry, the class colours, attention weights when a method has them, and the
/// tissue mask when the plan is at hand. Layers are drawn one pixel per grid cell, so a 60,000-pixel slide's layer is
/// a few hundred pixels wide and the browser scales it.
/// </summary>
public sealed class RunResults
{
    private readonly Dictionary<(int Column, int Row), int> _byCell = [];

    public RunResults(
        PlanFile plan,
        IReadOnlyList<string> classes,
        IReadOnlyList<(byte R, byte G, byte B)> colours,
        long[] x,
        long[] y,
        float[][] probabilitiesByClass,
        IReadOnlyList<double>? attention,
        TissueMask? mask)
    {
        Plan = plan;
        Classes = classes;
        Colours = colours;
        X = x;
        Y = y;
        ProbabilitiesByClass = probabilitiesByClass;
        Attention = attention is not null && attention.Count == x.Length ? attention : null;
        Mask = mask;
        CellSide = plan.Stride * plan.Downsample;
        PatchSide = plan.Window * plan.Downsample;
        for (int i = 0; i < x.Length; i++)
        {
            (int column, int row) = Cell(x[i], y[i]);
            _byCell.TryAdd((column, row), i);
            Columns = Math.Max(Columns, column + 1);
            Rows = Math.Max(Rows, row + 1);
        }
    }

    public PlanFile Plan { get; }

    public IReadOnlyList<string> Classes { get; }

    public IReadOnlyList<(byte R, byte G, byte B)> Colours { get; }

    public long[] X { get; }

    public long[] Y { get; }

    /// <summary>One column per class, one value per patch: the Parquet's <c>p_{class}</c> columns.</summary>
    public float[][] ProbabilitiesByClass { get; }

    public IReadOnlyList<double>? Attention { get; }

    public TissueMask? Mask { get; }

    /// <summary>Level-0 pixels between neighbouring patches (the plan's stride).</summary>
    public double CellSide { get; }

    /// <summary>Level-0 pixels one patch covers (the plan's window).</summary>
    public double PatchSide { get; }

    public int Columns { get; private set; }

    public int Rows { get; private set; }

    public int Count => X.Length;

    /// <summary>The layers the slide page can draw: the class map, a heatmap per class, attention, the tissue mask.</summary>
    public IReadOnlyList<string> Layers()
    {
        var layers = new List<string> { "classes" };
        layers.AddRange(Classes.Select((_, i) => $"heatmap-{i}"));
        if (Attention is not null)
        {
            layers.Add("attention");
        }

        if (Mask is not null)
        {
            layers.Add("tissue");
        }

        return layers;
    }

    /// <summary>The patch that covers a level-0 point, nearest grid cell first; null where no patch was classified.</summary>
    public PatchView? PatchAt(double x, double y)
    {
        if (x < 0 || y < 0)
        {
            return null;
        }

        int found = _byCell.TryGetValue(((int)(x / CellSide), (int)(y / CellSide)), out int i) ? i : -1;
        if (found < 0)
        {
            // Overlapping windows: a point outside its own cell's patch may lie in a neighbour's window.
            for (int p = 0; p < Count; p++)
            {
                if (x >= X[p] && y >= Y[p] && x < X[p] + PatchSide && y < Y[p] + PatchSide)
                {
                    found = p;
                    break;
                }
            }
        }

        return found < 0 ? null : Patch(found);
    }

    public PatchView Patch(int index)
    {
        int best = Predicted(index);
        return new PatchView(X[index], Y[index], PatchSide, Classes[best], ProbabilitiesByClass[best][index], Classes.Select((name, c) => (name, c)).ToDictionary(p => p.name, p => ProbabilitiesByClass[p.c][index]));
    }

    /// <summary>A layer as a transparent PNG and its width in level-0 pixels; null for a layer this run does not have.</summary>
    public (byte[] Png, double WidthAtLevel0)? Layer(string name)
    {
        if (name == "tissue")
        {
            return Mask is null ? null : (DrawMask(Mask), Mask.Width * Mask.Downsample);
        }

        Func<int, SKColor>? colour = name switch
        {
            "classes" => i => ClassColour(i),
            "attention" when Attention is { } weights => Ramp(weights),
            _ when name.StartsWith("heatmap-", StringComparison.Ordinal)
                && int.TryParse(name.AsSpan("heatmap-".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int c)
                && c < Classes.Count && name == $"heatmap-{c}" => i => Visualization.ClassColours.Ramp(ProbabilitiesByClass[c][i]),
            _ => null,
        };
        return colour is null || Count == 0 ? null : (DrawCells(colour), Columns * CellSide);
    }

    // The class with the highest probability, the lower index on a tie (as the classifier's argmax).
    private int Predicted(int index)
    {
        int best = 0;
        for (int c = 1; c < Classes.Count; c++)
        {
            if (ProbabilitiesByClass[c][index] > ProbabilitiesByClass[best][index])
            {
                best = c;
            }
        }

        return best;
    }

    private SKColor ClassColour(int patch)
    {
        (byte r, byte g, byte b) = Colours[Predicted(patch)];
        return new SKColor(r, g, b);
    }

    /// <summary>
    /// Reads a run's results: the result document (classes, colours, calls, geometry), the patch Parquet and, when
    /// there is one, the plan with its tissue mask.
    /// </summary>
    public static async Task<RunResults?> LoadAsync(SlideResultFile result, string parquetPath, TissueMask? mask, CancellationToken cancellationToken = default)
    {
        if (result.Plan is null)
        {
            return null;
        }

        (long[] x, long[] y, _, float[][] columns) = await PatchParquet.ReadAsync(parquetPath, result.Classes, cancellationToken);
        var colours = result.Classes.Select((name, i) => result.ClassColours is { } given && given.TryGetValue(name, out int[]? c) && c.Length == 3
            ? ((byte)c[0], (byte)c[1], (byte)c[2])
            : Imaging.CategoricalPalette.For(i, name)).ToList();
        IReadOnlyList<double>? attention = result.Calls.FirstOrDefault(c => c.PatchWeights is not null)?.PatchWeights;
        return new RunResults(result.Plan, result.Classes, colours, x, y, columns, attention, mask);
    }

    private static Func<int, SKColor> Ramp(IReadOnlyList<double> weights)
    {
        double max = weights.Count == 0 ? 1 : Math.Max(weights.Max(), 1e-12);
        return i => Visualization.ClassColours.Ramp(weights[i] / max);
    }

    private (int Column, int Row) Cell(long x, long y) => ((int)Math.Round(x / CellSide), (int)Math.Round(y / CellSide));

    private byte[] DrawCells(Func<int, SKColor> colour)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(Math.Max(1, Columns), Math.Max(1, Rows), SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(SKColors.Transparent);
        for (int i = 0; i < Count; i++)
        {
            (int column, int row) = Cell(X[i], Y[i]);
            if (_byCell[(column, row)] == i)
            {
                bitmap.SetPixel(column, row, colour(i));
            }
        }

        return Encode(bitmap);
    }

    private static byte[] DrawMask(TissueMask mask)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(mask.Width, mask.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(SKColors.Transparent);
        var tissue = new SKColor(0, 170, 255);
        for (int y = 0; y < mask.Height; y++)
        {
            for (int x = 0; x < mask.Width; x++)
            {
                if (mask[x, y])
                {
                    bitmap.SetPixel(x, y, tissue);
                }
            }
        }

        return Encode(bitmap);
    }

    private static byte[] Encode(SKBitmap bitmap)
    {
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
