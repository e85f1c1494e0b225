using System.Text.Json;
using Microsoft.Azure.Cosmos;

namespace DeepSlide.Pipeline.Cosmos;

/// <summary>Slide runs in a Cosmos DB container partitioned by <c>/slideId</c>; every query stays in one partition.</summary>
public sealed class CosmosSlideRunStore(Container container) : ISlideRunStore
{
    public const string PartitionKeyPath = "/slideId";

    public static CosmosClientOptions ClientOptions(bool acceptLoopbackCertificate = false)
    {
        var options = new CosmosClientOptions
        {
            UseSystemTextJsonSerializerWithOptions = new JsonSerializerOptions(JsonSerializerDefaults.Web),
        };
        if (acceptLoopbackCertificate)
        {
            // cosmosdb-server (local tests) serves a self-signed certificate on loopback; nowhere else is that accepted.
            options.ConnectionMode = ConnectionMode.Gateway;
            options.LimitToEndpoint = true;
            options.HttpClientFactory = () => new HttpClient(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (request, _, _, _) => request.RequestUri is { IsLoopback: true },
            });
        }

        return options;
    }

    public static async Task<CosmosSlideRunStore> CreateAsync(CosmosClient client, string database, string container, CancellationToken cancellationToken = default)
    {
        Database db = (await client.CreateDatabaseIfNotExistsAsync(database, cancellationToken: cancellationToken)).Database;
        Container c = (await db.CreateContainerIfNotExistsAsync(new ContainerProperties(container, PartitionKeyPath), cancellationToken: cancellationToken)).Container;
        return new CosmosSlideRunStore(c);
    }

    /// <summary>Writes the run unless the store already holds a later revision of it (a repeated, stale write).</summary>
    public async Task UpsertAsync(SlideRun run, CancellationToken cancellationToken = default)
    {
        if (run.Revision > 0 && await GetAsync(run.SlideId, run.Id, cancellationToken) is { } stored && stored.Revision >= run.Revision)
        {
            return;
        }

        await container.UpsertItemAsync(run, new PartitionKey(run.SlideId), cancellationToken: cancellationToken);
    }

    public async Task<bool> TryCreateAsync(SlideRun run, CancellationToken cancellationToken = default)
    {
        try
        {
            await container.CreateItemAsync(run, new PartitionKey(run.SlideId), cancellationToken: cancellationToken);
            return true;
        }
        catch (CosmosException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    // A single-partition query rather than a point read: it answers "none" the same way on Cosmos DB and on the local
    // cosmosdb-server (which fails a point read of a missing item with 500), for about 3 RU instead of 1.
    public async Task<SlideRun?> GetAsync(string slideId, string runId, CancellationToken cancellationToken = default) =>
        (await QueryAsync(slideId, new QueryDefinition("SELECT * FROM c WHERE c.slideId = @slide AND c.id = @id").WithParameter("@slide", slideId).WithParameter("@id", runId), cancellationToken))
        .SingleOrDefault();

    public async Task<IReadOnlyList<SlideRun>> ListAsync(string slideId, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<SlideRun> runs = await QueryAsync(slideId, new QueryDefinition("SELECT * FROM c WHERE c.slideId = @slide").WithParameter("@slide", slideId), cancellationToken);

        // Sorted here: the local emulator's ORDER BY support is partial, and a slide has few runs.
        return runs.OrderByDescending(r => r.CreatedUtc).ToList();
    }

    /// <summary>
    /// Every run of every slide, newest first: a read of the whole container, for the local stack's status and its
    /// history file (a cross-partition query would need a query plan the local emulator does not serve).
    /// </summary>
    public async Task<IReadOnlyList<SlideRun>> ListAllAsync(CancellationToken cancellationToken = default)
    {
        var runs = new List<SlideRun>();
        using FeedIterator<SlideRun> feed = container.GetItemQueryIterator<SlideRun>((string?)null);
        while (feed.HasMoreResults)
        {
            runs.AddRange(await feed.ReadNextAsync(cancellationToken));
        }

        return runs.OrderByDescending(r => r.CreatedUtc).ToList();
    }

    /// <summary>Removes a run's document; false when it was not stored.</summary>
    public async Task<bool> DeleteAsync(SlideRun run, CancellationToken cancellationToken = default)
    {
        try
        {
            await container.DeleteItemAsync<SlideRun>(run.Id, new PartitionKey(run.SlideId), cancellationToken: cancellationToken);
            return true;
        }
        catch (CosmosException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private async Task<IReadOnlyList<SlideRun>> QueryAsync(string slideId, QueryDefinition query, CancellationToken cancellationToken)
    {
        var runs = new List<SlideRun>();
        using FeedIterator<SlideRun> feed = container.GetItemQueryIterator<SlideRun>(query, requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(slideId) });
        while (feed.HasMoreResults)
        {
            runs.AddRange(await feed.ReadNextAsync(cancellationToken));
        }

        return runs;
    }
}
