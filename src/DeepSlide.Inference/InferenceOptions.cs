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
    /// <summary>Patches per run of the model; null picks by device (<see cref="BatchSizeOn"/>).</summary>
    public int? BatchSize { get; init; }

    /// <summary>
    /// The batch on a provider: what was asked for, else 16 on the CPU (more only adds latency once the cores are
    /// busy) and 128 on CUDA, where a ResNet-18 batch of 16 leaves most of the GPU idle between launches.
    /// </summary>
    public int BatchSizeOn(string provider) => BatchSize ?? (provider == "CUDA" ? 128 : 16);

    /// <summary>ONNX Runtime's intra-op threads on the CPU; all cores by default.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    public ExecutionDevice Device { get; init; } = ExecutionDevice.Auto;

    public int CudaDeviceId { get; init; }
}
