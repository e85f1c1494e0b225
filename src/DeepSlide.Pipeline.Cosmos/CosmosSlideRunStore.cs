using System.Text.Json;
using System.Text.Json.Serialization;
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
            UseSystemTextJsonSerializerWithOptions = PipelineJson.Options,
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

    /// <summary>
    /// Writes the run unless the store already holds a later revision of it (a repeated, stale write). The check and
    /// the write are one: the write names the version it checked (If-Match on the document's ETag) and starts over
    /// when another write came in between, so of two racing writes the higher revision is the one left.
    /// </summary>
    public async Task UpsertAsync(SlideRun run, CancellationToken cancellationToken = default)
    {
        var partition = new PartitionKey(run.SlideId);
        if (run.Revision <= 0)
        {
            await container.UpsertItemAsync(run, partition, cancellationToken: cancellationToken);
            return;
        }

        for (int attempt = 0; attempt < 50; attempt++)
        {
            StoredVersion? stored = await StoredVersionAsync(run.SlideId, run.Id, cancellationToken);
            try
            {
                if (stored is null)
                {
                    await container.CreateItemAsync(run, partition, cancellationToken: cancellationToken);
                }
                else if (stored.Revision < run.Revision)
                {
                    await container.ReplaceItemAsync(run, run.Id, partition, new ItemRequestOptions { IfMatchEtag = stored.ETag }, cancellationToken);
                }

                return;
            }
            catch (CosmosException ex) when (ex.StatusCode is System.Net.HttpStatusCode.PreconditionFailed or System.Net.HttpStatusCode.Conflict)
            {
                // Another write came in between: look again.
            }
        }

        throw new InvalidOperationException($"run {run.Id}: revision {run.Revision} could not be written; the document kept changing under 50 attempts.");
    }

    private sealed record StoredVersion([property: JsonPropertyName("_etag")] string ETag, int Revision);

    /// <summary>
    /// The stored document's ETag and revision, by a point read (1 RU): a run's document exists from its start claim
    /// on, so this is where a write finds it. A missing one is a 404 on Cosmos DB; the local cosmosdb-server answers
    /// a point read of a missing item with 500, so that answer is asked again as a query (about 3 RU), which tells
    /// "none" the same way on both.
    /// </summary>
    private async Task<StoredVersion?> StoredVersionAsync(string slideId, string id, CancellationToken cancellationToken)
    {
        try
        {
            return (await container.ReadItemAsync<StoredVersion>(id, new PartitionKey(slideId), cancellationToken: cancellationToken)).Resource;
        }
        catch (CosmosException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (CosmosException ex) when (ex.StatusCode == System.Net.HttpStatusCode.InternalServerError)
        {
            return (await QueryAsync<StoredVersion>(
                slideId,
                new QueryDefinition("SELECT c._etag, c.revision FROM c WHERE c.slideId = @slide AND c.id = @id").WithParameter("@slide", slideId).WithParameter("@id", id),
                cancellationToken)).SingleOrDefault();
        }
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

    public async Task ReleaseClaimAsync(SlideRun claim, CancellationToken cancellationToken = default)
    {
        StoredVersion? stored = await StoredVersionAsync(claim.SlideId, claim.Id, cancellationToken);
        if (stored is not { Revision: 0 })
        {
            return;
        }

        try
        {
            await container.DeleteItemAsync<SlideRun>(claim.Id, new PartitionKey(claim.SlideId), new ItemRequestOptions { IfMatchEtag = stored.ETag }, cancellationToken);
        }
        catch (CosmosException ex) when (ex.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.PreconditionFailed)
        {
            // Gone already, or taken over and written since: either way it is no longer this start's claim.
        }
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

    private Task<IReadOnlyList<SlideRun>> QueryAsync(string slideId, QueryDefinition query, CancellationToken cancellationToken) =>
        QueryAsync<SlideRun>(slideId, query, cancellationToken);

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string slideId, QueryDefinition query, CancellationToken cancellationToken)
    {
        var items = new List<T>();
        using FeedIterator<T> feed = container.GetItemQueryIterator<T>(query, requestOptions: new QueryRequestOptions { PartitionKey = new PartitionKey(slideId) });
        while (feed.HasMoreResults)
        {
            items.AddRange(await feed.ReadNextAsync(cancellationToken));
        }

        return items;
    }
}
