using System.CommandLine;
using DeepSlide.Inference;

namespace DeepSlide.Cli.Commands;

/// <summary>Options for commands that run the network: batch size, threads and device.</summary>
internal sealed class InferenceOptionSet
{
    public Option<int?> Batch { get; } = new("--batch") { Description = "Patches per inference batch; by device when not given (16 on the CPU, 128 on CUDA)." };

    public Option<int> Threads { get; } = new("--threads") { Description = "ONNX Runtime threads on the CPU.", DefaultValueFactory = _ => Environment.ProcessorCount };

    public Option<ExecutionDevice> Device { get; } = new("--device") { Description = "auto (CUDA when present, else CPU), cpu or cuda.", DefaultValueFactory = _ => ExecutionDevice.Auto };

    public void AddTo(Command command)
    {
        command.Options.Add(Batch);
        command.Options.Add(Threads);
        command.Options.Add(Device);
    }

    public InferenceOptions Read(ParseResult parse) => new()
    {
        BatchSize = parse.GetValue(Batch),
        Threads = parse.GetValue(Threads),
        Device = parse.GetValue(Device),
    };
}
