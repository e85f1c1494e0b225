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
