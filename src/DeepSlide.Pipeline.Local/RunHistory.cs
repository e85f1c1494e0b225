using System.Text.Json;
using DeepSlide.Pipeline.Cosmos;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;

namespace DeepSlide.Pipeline.Local;

/// <summary>
/// Keeps the local results store's runs across restarts. cosmosdb-server holds documents in memory only, so the local
/// stack writes every run to <c>runs.json</c> in its folder every few seconds and when it stops, and puts them back
/// when it starts. A crash loses at most the last few seconds of status changes; the durable state (in Azurite)
/// brings unfinished runs to their end either way.
/// </summary>
public sealed class RunHistory : IAsyncDisposable
{
    private static JsonSerializerOptions Json => PipelineJson.Options;

    private readonly CosmosSlideRunStore _store;
    private readonly string _file;
    private readonly ILogger? _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _saving;
    private string? _saved;

    private RunHistory(CosmosSlideRunStore store, string file, TimeSpan interval, ILogger? logger)
    {
        _store = store;
        _file = file;
        _logger = logger;
        _saving = SaveEveryAsync(interval, _stopping.Token);
    }

    public static string PathIn(string folder) => Path.Combine(folder, "runs.json");

    /// <summary>Puts the runs saved in <paramref name="folder"/> back into the store, then saves them every <paramref name="interval"/>.</summary>
    public static async Task<RunHistory> StartAsync(string folder, string cosmosEndpoint, TimeSpan interval, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        var client = new CosmosClient(cosmosEndpoint, CosmosServer.Key, CosmosSlideRunStore.ClientOptions(acceptLoopbackCertificate: true));
        CosmosSlideRunStore store = await CosmosSlideRunStore.CreateAsync(client, PipelineNames.Database, PipelineNames.RunsContainer, cancellationToken);
        string file = PathIn(folder);
        if (File.Exists(file))
        {
            List<SlideRun> runs;
            try
            {
                runs = JsonSerializer.Deserialize<List<SlideRun>>(await File.ReadAllTextAsync(file, cancellationToken), Json) ?? [];
            }
            catch (JsonException ex)
            {
                // The history is a convenience: a damaged file is set aside, never a reason not to start.
                string aside = file + ".damaged";
                File.Move(file, aside, overwrite: true);
                logger?.LogWarning("the run history {File} is not readable ({Reason}); it was moved to {Aside} and the history starts empty", file, ex.Message, aside);
                runs = [];
            }

            foreach (SlideRun run in runs)
            {
                await store.UpsertAsync(run, cancellationToken);
            }
        }

        return new RunHistory(store, file, interval, logger);
    }

    /// <summary>Writes every run to the file now (whole, through a temporary file, so a crash never leaves half of one).</summary>
    public async Task SaveAsync(CancellationToken cancellationToken = default)
    {
        IReadOnlyList<SlideRun> runs = await _store.ListAllAsync(cancellationToken);
        string text = JsonSerializer.Serialize(runs, Json);
        if (text == _saved)
        {
            return;
        }

        string temporary = _file + ".tmp";
        await File.WriteAllTextAsync(temporary, text, cancellationToken);
        File.Move(temporary, _file, overwrite: true);
        _saved = text;
    }

    private async Task SaveEveryAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, cancellationToken);
                await SaveAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger?.LogWarning(ex, "saving the run history to {File} failed; trying again", _file);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _saving;
        try
        {
            await SaveAsync();
        }
        catch (Exception ex)
        {
            _logger?.LogWarning(ex, "saving the run history to {File} at stop failed", _file);
        }

        _stopping.Dispose();
    }
}
