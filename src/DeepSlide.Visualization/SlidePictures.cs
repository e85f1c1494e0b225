using DeepSlide.Aggregation;
using DeepSlide.Imaging;
using DeepSlide.Slides;
using DeepSlide.Tiling;
using SkiaSharp;

namespace DeepSlide.Visualization;

public sealed record PictureOptions
{
    /// <summary>Long side of the pictures in pixels.</summary>
    public int Size { get; init; } = 2000;

    /// <summary>Overlay opacity of a patch with confidence 1; lower confidences are fainter.</summary>
    public double MaxAlpha { get; init; } = 0.6;

    /// <summary>Colours by class name (from the model's manifest); classes not named take the palette's.</summary>
    public IReadOnlyDictionary<string, (byte R, byte G, byte B)>? ClassColours { get; init; }
}

/// <summary>
/// Pictures of one classified slide, drawn on a thumbnail read from a low-resolution level and the patch results
/// alone: level 0 is never read, so a 100,000² slide costs no more than a small one.
/// </summary>
public sealed class SlidePictures : IDisposable
{
    private readonly SKBitmap _thumbnail;
    private readonly double _scale;
    private readonly SKTypeface _typeface;

    public SlidePictures(ISlideReader reader, PictureOptions? options = null)
    {
        Options = options ?? new PictureOptions();
        RgbImage thumbnail = reader.ReadThumbnail(Options.Size);
        _scale = thumbnail.Width / (double)reader.Info.Width;
        _thumbnail = ToBitmap(thumbnail);
        _typeface = Fonts.Default();
    }

    public PictureOptions Options { get; }

    public int Width => _thumbnail.Width;

    public int Height => _thumbnail.Height;

    /// <summary>The plain thumbnail.</summary>
    public SKBitmap Thumbnail() => _thumbnail.Copy();

    /// <summary>Each patch filled with its predicted class's colour, alpha scaled by its confidence, and a legend.</summary>
    public SKBitmap ClassOverlay(TilePlan plan, PatchProbabilities patches)
    {
        var bitmap = _thumbnail.Copy();
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
        for (int i = 0; i < patches.Count; i++)
        {
            (int cls, float confidence) = patches.Prediction(i);
            paint.Color = ClassColours.For(cls, patches.Classes[cls], Options.ClassColours).WithAlpha((byte)Math.Round(255 * Options.MaxAlpha * confidence));
            canvas.DrawRect(TileRect(plan, plan.Tiles[i]), paint);
        }

        Legend(canvas, patches.Classes);
        return bitmap;
    }

    /// <summary>One class's probability over the slide on a colour ramp, with a colour bar.</summary>
    public SKBitmap Heatmap(TilePlan plan, PatchProbabilities patches, int classIndex)
    {
        var bitmap = Dimmed();
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
        for (int i = 0; i < patches.Count; i++)
        {
            paint.Color = ClassColours.Ramp(patches.Row(i)[classIndex]).WithAlpha(220);
            canvas.DrawRect(TileRect(plan, plan.Tiles[i]), paint);
        }

        ColourBar(canvas, $"p({patches.Classes[classIndex]})");
        return bitmap;
    }

    /// <summary>Per-patch weights (attention MIL's) on the colour ramp, scaled so the largest weight is 1.</summary>
    public SKBitmap Weights(TilePlan plan, IReadOnlyList<double> weights, string label)
    {
        var bitmap = Dimmed();
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint { IsAntialias = false, Style = SKPaintStyle.Fill };
        double max = weights.Count == 0 ? 1 : Math.Max(weights.Max(), 1e-12);
        for (int i = 0; i < weights.Count; i++)
        {
            paint.Color = ClassColours.Ramp(weights[i] / max).WithAlpha(220);
            canvas.DrawRect(TileRect(plan, plan.Tiles[i]), paint);
        }

        ColourBar(canvas, label);
        return bitmap;
    }

    /// <summary>The tissue mask over the thumbnail: tissue tinted, background left as it is.</summary>
    public SKBitmap TissueMask(Tissue.TissueMask mask)
    {
        var bitmap = _thumbnail.Copy();
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint { Color = new SKColor(0, 170, 255, 110), Style = SKPaintStyle.Fill };
        double step = mask.Downsample * _scale;
        for (int y = 0; y < mask.Height; y++)
        {
            for (int x = 0; x < mask.Width; x++)
            {
                if (mask[x, y])
                {
                    canvas.DrawRect(SKRect.Create((float)(x * step), (float)(y * step), (float)Math.Ceiling(step), (float)Math.Ceiling(step)), paint);
                }
            }
        }

        return bitmap;
    }

    public static void SavePng(SKBitmap bitmap, string path)
    {
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    public void Dispose()
    {
        _thumbnail.Dispose();
        _typeface.Dispose();
    }

    private SKRect TileRect(TilePlan plan, Tile tile)
    {
        float size = (float)(plan.TileSizeAtLevel0 * _scale);
        float stride = (float)(plan.StrideAtLevel0 * _scale);
        // Overlapping windows draw only their stride so neighbours do not pile their alpha on top of each other.
        float side = Math.Min(size, stride);
        return SKRect.Create((float)(tile.X * _scale), (float)(tile.Y * _scale), Math.Max(1, side), Math.Max(1, side));
    }

    private SKBitmap Dimmed()
    {
        var bitmap = _thumbnail.Copy();
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint { Color = new SKColor(255, 255, 255, 120) };
        canvas.DrawRect(SKRect.Create(Width, Height), paint);
        return bitmap;
    }

    private void Legend(SKCanvas canvas, IReadOnlyList<string> classes)
    {
        float unit = Math.Max(12, Math.Min(Width, Height) / 40f);
        using var font = new SKFont(_typeface, unit);
        float widest = classes.Max(c => font.MeasureText(c));
        var box = SKRect.Create(unit * 0.5f, unit * 0.5f, unit * 2.5f + widest, unit * (classes.Count * 1.4f + 0.6f));
        using var background = new SKPaint { Color = new SKColor(255, 255, 255, 230) };
        using var border = new SKPaint { Color = SKColors.Gray, Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        using var swatch = new SKPaint { Style = SKPaintStyle.Fill };
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        canvas.DrawRect(box, background);
        canvas.DrawRect(box, border);
        for (int c = 0; c < classes.Count; c++)
        {
            float y = box.Top + unit * (0.5f + c * 1.4f);
            swatch.Color = ClassColours.For(c, classes[c], Options.ClassColours);
            var square = SKRect.Create(box.Left + unit * 0.4f, y, unit, unit);
            canvas.DrawRect(square, swatch);
            canvas.DrawRect(square, border);
            canvas.DrawText(classes[c], box.Left + unit * 1.8f, y + unit * 0.85f, SKTextAlign.Left, font, text);
        }
    }

    private void ColourBar(SKCanvas canvas, string label)
    {
        float unit = Math.Max(12, Math.Min(Width, Height) / 40f);
        float barWidth = unit * 10, left = unit, top = Height - unit * 3;
        using var paint = new SKPaint();
        for (int i = 0; i < (int)barWidth; i++)
        {
            paint.Color = ClassColours.Ramp(i / (barWidth - 1));
            canvas.DrawRect(SKRect.Create(left + i, top, 1, unit), paint);
        }

        using var font = new SKFont(_typeface, unit * 0.8f);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        canvas.DrawText("0", left, top + unit * 1.9f, SKTextAlign.Left, font, text);
        canvas.DrawText("1", left + barWidth, top + unit * 1.9f, SKTextAlign.Right, font, text);
        canvas.DrawText(label, left, top - unit * 0.3f, SKTextAlign.Left, font, text);
    }

    internal static SKBitmap ToBitmap(RgbImage image)
    {
        var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Span<byte> rgba = bitmap.GetPixelSpan();
        for (int i = 0; i < image.Width * image.Height; i++)
        {
            rgba[i * 4] = image.Pixels[i * 3];
            rgba[i * 4 + 1] = image.Pixels[i * 3 + 1];
            rgba[i * 4 + 2] = image.Pixels[i * 3 + 2];
            rgba[i * 4 + 3] = 255;
        }

        return bitmap;
    }
}

/// <summary>A real font for labels: the Linux Skia build bundled here has no font manager of its own.</summary>
internal static class Fonts
{
    private static readonly string[] Candidates =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    ];

    public static SKTypeface Default()
    {
        foreach (string path in Candidates)
        {
            if (File.Exists(path) && SKTypeface.FromFile(path) is { } typeface)
            {
                return typeface;
            }
        }

        return SKTypeface.Default;
    }
}
