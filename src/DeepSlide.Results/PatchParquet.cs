using DeepSlide.Aggregation;
using Parquet;
using Parquet.Schema;

namespace DeepSlide.Results;

/// <summary>
/// Patch predictions as Parquet: one row per tissue patch with <c>x</c>, <c>y</c> (level 0), <c>prediction</c>,
/// <c>confidence</c> and one <c>p_{class}</c> column per class. Written whole, so a rewrite replaces it cleanly.
/// </summary>
public static class PatchParquet
{
    public static Task WriteAsync(SlideResult result, string path, CancellationToken cancellationToken = default) =>
        WriteAsync(result.Plan?.Tiles ?? [], result.Patches, path, cancellationToken);

    /// <summary>Writes the given tiles' predictions (one row of <paramref name="patches"/> per tile, in order).</summary>
    public static async Task WriteAsync(IReadOnlyList<Tiling.Tile> tiles, PatchProbabilities patches, string path, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<string> classes = patches.Classes;
        int n = patches.Count;
        var x = new long[n];
        var y = new long[n];
        var prediction = new string[n];
        var confidence = new float[n];
        var columns = classes.Select(_ => new float[n]).ToArray();
        for (int i = 0; i < n; i++)
        {
            x[i] = tiles[i].X;
            y[i] = tiles[i].Y;
            (int cls, float conf) = patches.Prediction(i);
            prediction[i] = classes[cls];
            confidence[i] = conf;
            ReadOnlySpan<float> row = patches.Row(i);
            for (int c = 0; c < classes.Count; c++)
            {
                columns[c][i] = row[c];
            }
        }

        var xField = new DataField<long>("x");
        var yField = new DataField<long>("y");
        var predictionField = new DataField<string>("prediction");
        var confidenceField = new DataField<float>("confidence");
        DataField<float>[] classFields = classes.Select(c => new DataField<float>($"p_{c}")).ToArray();
        var schema = new ParquetSchema([xField, yField, predictionField, confidenceField, .. classFields]);

        string partial = path + ".partial";
        await using (Stream stream = File.Create(partial))
        {
            await using ParquetWriter writer = await ParquetWriter.CreateAsync(schema, stream, cancellationToken: cancellationToken);
            using ParquetRowGroupWriter group = writer.CreateRowGroup();
            await group.WriteAsync<long>(xField, x, cancellationToken: cancellationToken);
            await group.WriteAsync<long>(yField, y, cancellationToken: cancellationToken);
            await group.WriteAsync(predictionField, prediction);
            await group.WriteAsync<float>(confidenceField, confidence, cancellationToken: cancellationToken);
            for (int c = 0; c < classFields.Length; c++)
            {
                await group.WriteAsync<float>(classFields[c], columns[c], cancellationToken: cancellationToken);
            }
        }

        File.Move(partial, path, overwrite: true);
    }

    /// <summary>Reads back x, y and the per-class probabilities (for tests and downstream tools).</summary>
    public static async Task<(long[] X, long[] Y, string[] Prediction, float[][] Probabilities)> ReadAsync(string path, IReadOnlyList<string> classes, CancellationToken cancellationToken = default)
    {
        await using ParquetReader reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken);
        using ParquetRowGroupReader group = reader.OpenRowGroupReader(0);
        ParquetSchema schema = reader.Schema;
        int n = (int)group.RowCount;
        var x = new long[n];
        var y = new long[n];
        var prediction = new string[n];
        await group.ReadAsync<long>(schema.FindDataField("x"), x, cancellationToken: cancellationToken);
        await group.ReadAsync<long>(schema.FindDataField("y"), y, cancellationToken: cancellationToken);
        await group.ReadAsync(schema.FindDataField("prediction"), prediction, cancellationToken: cancellationToken);
        var probabilities = new float[classes.Count][];
        for (int c = 0; c < classes.Count; c++)
        {
            probabilities[c] = new float[n];
            await group.ReadAsync<float>(schema.FindDataField($"p_{classes[c]}"), probabilities[c], cancellationToken: cancellationToken);
        }

        return (x, y, prediction, probabilities);
    }

    /// <summary>Reads the predictions back as <see cref="PatchProbabilities"/>, in row order, with the tiles' positions.</summary>
    public static async Task<PatchProbabilities> ReadProbabilitiesAsync(string path, IReadOnlyList<string> classes, CancellationToken cancellationToken = default)
    {
        (_, _, _, float[][] columns) = await ReadAsync(path, classes, cancellationToken);
        int n = columns.Length == 0 ? 0 : columns[0].Length;
        var values = new float[n * classes.Count];
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < classes.Count; c++)
            {
                values[(i * classes.Count) + c] = columns[c][i];
            }
        }

        return new PatchProbabilities(classes, values);
    }
}
