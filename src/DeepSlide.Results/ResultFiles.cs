using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DeepSlide.Aggregation;
using nietras.SeparatedValues;

namespace DeepSlide.Results;

/// <summary>
/// Writes a run's results: per slide <c>{slide}.json</c> and <c>patches/{slide}.csv</c> and <c>.parquet</c>;
/// for all slides <c>slides.csv</c> in DeepSlide's layout (<c>img,predicted,percent_c…,count_c…</c>).
/// </summary>
public static class ResultFiles
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The method whose label DeepSlide's slide CSV reports: its thresholding.</summary>
    public const string PrimaryMethod = "threshold";

    public static async Task WriteSlideAsync(SlideResult result, string folder, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.Combine(folder, "patches"));
        await File.WriteAllTextAsync(Path.Combine(folder, result.SlideName + ".json"), ToJson(result), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(folder, "patches", result.SlideName + ".csv"), PatchCsv(result), cancellationToken);
        await PatchParquet.WriteAsync(result, Path.Combine(folder, "patches", result.SlideName + ".parquet"), cancellationToken);
        if (result.Plan is not null)
        {
            Directory.CreateDirectory(Path.Combine(folder, "plans"));
            await File.WriteAllTextAsync(Path.Combine(folder, "plans", result.SlideName + ".json"), TilePlanJson.Serialize(result.Plan), cancellationToken);
        }
    }

    /// <summary>Records a slide that could not be classified, with the reason, so nothing disappears from a run.</summary>
    public static Task WriteFailureAsync(SlideResult result, string folder, CancellationToken cancellationToken = default) =>
        File.WriteAllTextAsync(Path.Combine(folder, result.SlideName + ".json"), ToJson(result), cancellationToken);

    public static string ToJson(SlideResult r)
    {
        IReadOnlyList<string> classes = r.Patches.Classes;
        var document = new
        {
            slide = r.SlideName,
            path = r.SlidePath,
            status = r.Status,
            error = r.Error,
            executionProvider = r.ExecutionProvider,
            seconds = Math.Round(r.Seconds, 3),
            confirmed = r.Confirmed is { } confirmed
                ? new { precision = "fp32", patches = confirmed.Patches, patchMargin = confirmed.PatchMargin, wholeSlide = confirmed.WholeSlide, unsure = confirmed.Unsure, margin = confirmed.Margin }
                : null,
            classes,
            classColours = classes.Select((name, i) => (name, colour: Imaging.CategoricalPalette.For(i, name, r.ClassColours)))
                .ToDictionary(p => p.name, p => new int[] { p.colour.R, p.colour.G, p.colour.B }),
            plan = r.Plan is null ? null : new { r.Plan.Level, r.Plan.Downsample, r.Plan.Window, r.Plan.Stride, gridTiles = r.Plan.GridTileCount, tissueTiles = r.Plan.Tiles.Count },
            calls = r.Calls.Select(c => new
            {
                method = c.Method,
                label = c.Label,
                scores = classes.Select((name, i) => (name, score: Math.Round(c.Scores[i], 6))).ToDictionary(p => p.name, p => p.score),
                note = c.Note,
                patchWeights = c.PatchWeights?.Select(w => Math.Round(w, 6)),
                focus = c.Focus,
            }),
            patches = (r.Plan?.Tiles ?? []).Select((t, i) =>
            {
                (int cls, float confidence) = r.Patches.Prediction(i);
                return new { x = t.X, y = t.Y, prediction = classes[cls], confidence = Math.Round(confidence, 6), probabilities = r.Patches.Row(i).ToArray().Select(p => Math.Round(p, 6)) };
            }),
        };
        return JsonSerializer.Serialize(document, Json);
    }

    /// <summary>DeepSlide's patch CSV: <c>x,y,prediction,confidence</c>, level-0 coordinates.</summary>
    public static string PatchCsv(SlideResult r)
    {
        using SepWriter writer = CsvWriter(["x", "y", "prediction", "confidence"]);
        for (int i = 0; i < r.Patches.Count; i++)
        {
            (int cls, float confidence) = r.Patches.Prediction(i);
            var tile = r.Plan!.Tiles[i];
            using SepWriter.Row row = writer.NewRow();
            row["x"].Set(tile.X.ToString(CultureInfo.InvariantCulture));
            row["y"].Set(tile.Y.ToString(CultureInfo.InvariantCulture));
            row["prediction"].Set(r.Patches.Classes[cls]);
            row["confidence"].Set(confidence.ToString("0.######", CultureInfo.InvariantCulture));
        }

        return Text(writer);
    }

    /// <summary>DeepSlide's slide CSV: the thresholding label, then the share and count of counted patches per class.</summary>
    public static string SlideCsv(IReadOnlyList<SlideResult> results, IReadOnlyList<string> classes)
    {
        string[] header = ["img", "predicted", .. classes.Select(c => $"percent_{c}"), .. classes.Select(c => $"count_{c}")];
        using SepWriter writer = CsvWriter(header);
        foreach (SlideResult r in results)
        {
            SlideCall? call = r.Call(PrimaryMethod);
            using SepWriter.Row row = writer.NewRow();
            row[0].Set(Path.GetFileName(r.SlidePath));
            row[1].Set(r.Status == SlideStatus.Classified ? call?.Label ?? string.Empty : r.Status);
            for (int c = 0; c < classes.Count; c++)
            {
                row[2 + c].Set((call?.Scores[c] ?? 0).ToString("0.######", CultureInfo.InvariantCulture));
                row[2 + classes.Count + c].Set(((int)Math.Round((call?.Scores[c] ?? 0) * r.Patches.Count)).ToString(CultureInfo.InvariantCulture));
            }
        }

        return Text(writer);
    }

    // Quoted where a field holds a comma, quote or line break; the header is written even with no rows.
    private static SepWriter CsvWriter(string[] header)
    {
        SepWriter writer = Sep.New(',').Writer(o => o with { Escape = true }).ToText();
        writer.Header.Add(header);
        return writer;
    }

    private static string Text(SepWriter writer)
    {
        if (writer.ToString().Length == 0)
        {
            writer.Header.Write();
        }

        return writer.ToString();
    }
}

/// <summary>A slide result as read back from its JSON file.</summary>
public sealed record SlideResultFile(
    string Slide,
    string Status,
    IReadOnlyList<string> Classes,
    IReadOnlyList<SlideCallFile> Calls,
    IReadOnlyList<PatchFile> Patches,
    string? Error)
{
    /// <summary>The plan's geometry; absent for a slide that failed before planning.</summary>
    public PlanFile? Plan { get; init; }

    /// <summary>The slide's path when it was classified.</summary>
    public string? Path { get; init; }

    /// <summary>Each class's colour as [R, G, B]; absent in results written before colours were recorded.</summary>
    public IReadOnlyDictionary<string, int[]>? ClassColours { get; init; }
}

/// <summary>A result's tile geometry: a patch covers <c>Window * Downsample</c> level-0 pixels.</summary>
public sealed record PlanFile(int Level, double Downsample, int Window, int Stride);

public sealed record SlideCallFile(string Method, string? Label, IReadOnlyDictionary<string, double> Scores, string? Note)
{
    /// <summary>A weight per patch in plan order (attention MIL's), for methods that weigh patches.</summary>
    public IReadOnlyList<double>? PatchWeights { get; init; }

    /// <summary>The focus the call rests on, on the plan's grid (the threshold aggregator's focus rule).</summary>
    public FocusArea? Focus { get; init; }
}

public sealed record PatchFile(long X, long Y, string Prediction, double Confidence, IReadOnlyList<double> Probabilities);

public static class SlideResultReader
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    /// <summary>Reads every <c>{slide}.json</c> in a classify output folder.</summary>
    public static IReadOnlyList<SlideResultFile> ReadFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DeepSlideException(DeepSlideErrorReason.FileNotFound, folder, "the results folder does not exist.");
        }

        var results = Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal).Select(Read).ToList();
        return results.Count > 0 ? results : throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, folder, "the folder holds no slide results ({slide}.json from 'deepslide classify').");
    }

    public static SlideResultFile Read(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Reads a result document's text; <paramref name="source"/> names it in errors.</summary>
    public static SlideResultFile Parse(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<SlideResultFile>(json, Json)
                ?? throw new JsonException("empty document");
        }
        catch (JsonException ex)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidDataset, source, $"not a slide result written by 'deepslide classify': {ex.Message}", ex);
        }
    }
}
