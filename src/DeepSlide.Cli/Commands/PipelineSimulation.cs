using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using DeepSlide.Orchestration;
using DeepSlide.Pipeline;
using DeepSlide.Pipeline.Local;
using DeepSlide.Pipeline.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace DeepSlide.Cli.Commands;

/// <summary>
/// The real orchestration, through the local durable host on Azurite, driven by simulated workers: they take work
/// from the Storage queue transport (peek-lock semantics, as Service Bus gives them), spend a set time per range
/// instead of running a model, and send the same notices real workers send. What it measures is the orchestration's
/// own cost at cloud scale: wall time beyond what the workers need, notices handled per second, and history size.
/// </summary>
internal static class PipelineSimulation
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static async Task RunAsync(string folder, IReadOnlyList<int> rangeCounts, int workers, TimeSpan perRange, CancellationToken cancellationToken)
    {
        string stackFolder = Path.Combine(folder, $"simulation-{Guid.NewGuid():N}"[..22]);
        var defaults = new SlideRunRequest(string.Empty, string.Empty, string.Empty) { TilesPerRange = 1, MaxRanges = 500 };
        Console.WriteLine(string.Create(C, $"simulation: {workers} simulated workers, {perRange.TotalSeconds:0.##} s a range, the real orchestration on the local durable host ({Environment.ProcessorCount} cores)"));
        await using (LocalStack stack = await LocalStack.StartAsync(stackFolder, 0, null, NullLoggerFactory.Instance, runDefaults: defaults))
        {
            var storage = new StorageAccount(stack.State.StorageConnection);
            var options = new LocalPipelineOptions { StorageConnection = stack.State.StorageConnection, CosmosEndpoint = stack.State.CosmosEndpoint };
            var sink = await StorageQueueCompletionSink.CreateAsync(storage.Queues(), options.CompletionQueue, cancellationToken: cancellationToken);
            foreach (int ranges in rangeCounts)
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                Task[] simulated = await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
                {
                    IWorkTransport transport = await StorageQueueTransport.CreateAsync(storage.Queues(), new WorkQueueOptions { QueueName = options.RangeQueue }, cancellationToken: cancellationToken);
                    return WorkAsync(transport, sink, ranges, perRange, stop.Token);
                }));

                var watch = Stopwatch.StartNew();
                string blob = $"simulated/{ranges}-ranges-{Guid.NewGuid():N}.svs";
                RunStart start = await stack.Host.Starter.StartForUploadAsync(blob, "\"0x1\"", stack.State.ModelPrefix, cancellationToken);
                SlideRun run = await stack.Host.WaitForRunAsync(SlideRun.SlideIdOf(blob), start.RunId!, TimeSpan.FromMinutes(30), cancellationToken);
                double wall = watch.Elapsed.TotalSeconds;
                await stop.CancelAsync();
                await Task.WhenAll(simulated);

                double ideal = Math.Ceiling(ranges / (double)workers) * perRange.TotalSeconds;
                double inference = run.Seconds.GetValueOrDefault("inference");
                int history = 0;
                await foreach (TableEntity _ in new TableClient(stack.State.StorageConnection, $"{options.TaskHub}History").QueryAsync<TableEntity>($"PartitionKey eq '{start.RunId}'", select: ["PartitionKey"], cancellationToken: cancellationToken))
                {
                    history++;
                }

                Console.WriteLine(string.Create(
                    C,
                    $"{ranges,4} ranges: {run.Status}, {wall:0.0} s upload to stored result, the workers need {ideal:0.0} s: orchestration overhead {wall - ideal:0.0} s = {(wall - ideal) / wall:P1} of the wall time; {ranges / inference:0.0} notices/s while ranges ran; {history} history events"));
            }
        }

        Directory.Delete(stackFolder, recursive: true);
    }

    private static async Task WorkAsync(IWorkTransport transport, IWorkCompletionSink sink, int ranges, TimeSpan perRange, CancellationToken cancellationToken)
    {
        await using (transport)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                ReceivedWork? received;
                try
                {
                    received = await transport.ReceiveAsync(TimeSpan.FromSeconds(1), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                if (received is null)
                {
                    continue;
                }

                WorkMessage message = received.Message;
                var done = new WorkCompletion(message.RunId, message.Work, true, "simulated", null);
                switch (message.Work.Kind)
                {
                    case WorkKind.Plan:
                        done = done with { PlannedTiles = ranges };
                        break;
                    case WorkKind.Range:
                        await Task.Delay(perRange, CancellationToken.None);
                        done = done with { Patches = message.Work.RangeTiles.Count, Seconds = perRange.TotalSeconds };
                        break;
                    case WorkKind.Aggregate:
                        done = done with { Patches = ranges, Calls = new SlideCalls([], new RunModel(message.ModelPrefix, null, null, null, ["a", "b"]), new Dictionary<string, string>()) };
                        break;
                }

                await sink.SendAsync(done, CancellationToken.None);
                await received.CompleteAsync(CancellationToken.None);
            }
        }
    }
}
