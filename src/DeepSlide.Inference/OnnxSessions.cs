using Microsoft.ML.OnnxRuntime;

namespace DeepSlide.Inference;

/// <summary>Creates ONNX Runtime sessions: CUDA when asked for or available, else the CPU, and says which.</summary>
public static class OnnxSessions
{
    public static (InferenceSession Session, string Provider) Create(byte[] onnx, string path, InferenceOptions options)
    {
        if (options.Device == ExecutionDevice.Cuda || (options.Device == ExecutionDevice.Auto && HasNvidiaDriver()))
        {
            SessionOptions? cuda = null;
            try
            {
                cuda = CpuOptions(options);
                cuda.AppendExecutionProvider_CUDA(options.CudaDeviceId);
                return (Open(onnx, path, cuda), "CUDA");
            }
            catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
            {
                if (options.Device == ExecutionDevice.Cuda)
                {
                    throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, path, $"the CUDA execution provider was asked for but cannot run here: {ex.Message}", ex);
                }

                // No GPU or no CUDA libraries: the CPU it is, with fresh options.
            }
            finally
            {
                cuda?.Dispose();
            }
        }

        using SessionOptions cpu = CpuOptions(options);
        return (Open(onnx, path, cpu), "CPU");
    }

    /// <summary>Whether the NVIDIA driver is installed; without it CUDA cannot run, and trying only logs native errors.</summary>
    public static bool HasNvidiaDriver()
    {
        if (System.Runtime.InteropServices.NativeLibrary.TryLoad("libcuda.so.1", out nint handle))
        {
            System.Runtime.InteropServices.NativeLibrary.Free(handle);
            return true;
        }

        return false;
    }

    private static SessionOptions CpuOptions(InferenceOptions options)
    {
        var so = new SessionOptions
        {
            IntraOpNumThreads = Math.Max(1, options.Threads),
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        // Spinning threads would steal the cores that read and decode the next patches.
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return so;
    }

    private static InferenceSession Open(byte[] onnx, string path, SessionOptions options)
    {
        try
        {
            return new InferenceSession(onnx, options);
        }
        catch (OnnxRuntimeException ex) when (!ex.Message.Contains("CUDA", StringComparison.OrdinalIgnoreCase))
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidModel, path, $"ONNX Runtime cannot load the model: {ex.Message}", ex);
        }
    }
}
