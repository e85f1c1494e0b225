using Azure.Messaging.ServiceBus;
using DeepSlide.Pipeline.ServiceBus;
using DeepSlide.Pipeline.Storage;

namespace DeepSlide.Pipeline.Tests;

/// <summary>The contract on Azure Storage queues, against a real Azurite.</summary>
public sealed class StorageQueueTransportTests(AzuriteFixture azurite) : WorkTransportContract, IClassFixture<AzuriteFixture>
{
    protected override async Task<IWorkTransport> CreateAsync(WorkQueueOptions options) =>
        await StorageQueueTransport.CreateAsync(new StorageAccount(azurite.ConnectionString).Queues(), options);

    protected override async Task SendRawAsync(WorkQueueOptions options, string body) =>
        await new StorageAccount(azurite.ConnectionString).Queues().GetQueueClient(options.QueueName).SendMessageAsync(body);
}

/// <summary>
/// The contract on Azure Service Bus. It needs a broker (the official emulator, a Docker image, or a namespace), which
/// this machine cannot run: set DEEPSLIDE_SERVICEBUS_CONNECTION to a connection string whose namespace lets the test
/// create queues, and these run; otherwise each is reported as skipped, with the reason.
/// </summary>
public sealed class ServiceBusTransportTests : WorkTransportContract
{
    public const string Variable = "DEEPSLIDE_SERVICEBUS_CONNECTION";

    protected override async Task<IWorkTransport> CreateAsync(WorkQueueOptions options)
    {
        string? connection = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrEmpty(connection), $"{Variable} is not set: no Service Bus broker or emulator is reachable from this machine.");
        var admin = new Azure.Messaging.ServiceBus.Administration.ServiceBusAdministrationClient(connection);
        await admin.CreateQueueAsync(new Azure.Messaging.ServiceBus.Administration.CreateQueueOptions(options.QueueName)
        {
            LockDuration = options.LockDuration,
            MaxDeliveryCount = options.MaxDeliveryCount + 1,
            RequiresDuplicateDetection = true,
            DeadLetteringOnMessageExpiration = true,
        });
        return new ServiceBusTransport(new ServiceBusClient(connection), options);
    }

    protected override async Task SendRawAsync(WorkQueueOptions options, string body)
    {
        await using var client = new ServiceBusClient(Environment.GetEnvironmentVariable(Variable));
        await using ServiceBusSender sender = client.CreateSender(options.QueueName);
        await sender.SendMessageAsync(new ServiceBusMessage(body));
    }
}

/// <summary>Who closes the Service Bus client: the transport, when it made the client for itself.</summary>
public sealed class ServiceBusClientOwnershipTests
{
    private const string Offline = "Endpoint=sb://deepslide-offline.servicebus.windows.net/;SharedAccessKeyName=none;SharedAccessKey=bm9uZQ==";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_transport_closes_the_client_only_when_it_owns_it(bool owns)
    {
        var client = new ServiceBusClient(Offline);
        await using (new ServiceBusTransport(client, new WorkQueueOptions { QueueName = "tile-ranges" }, ownsClient: owns))
        {
            Assert.False(client.IsClosed);
        }

        Assert.Equal(owns, client.IsClosed);
        await client.DisposeAsync();
    }
}
