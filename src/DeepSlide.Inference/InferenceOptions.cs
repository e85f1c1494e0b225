namespace DeepSlide.Inference;

public enum ExecutionDevice
{
    /// <summary>CUDA when a GPU and its libraries are present, else the CPU.</summary>
    Auto,
    Cpu,
    Cuda,
}

public sealed record InferenceOptions
{
    public int BatchSize { get; init; } = 16;

    /// <summary>ONNX Runtime's intra-op threads on the CPU; all cores by default.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    public ExecutionDevice Device { get; init; } = ExecutionDevice.Auto;

    public int CudaDeviceId { get; init; }
}
