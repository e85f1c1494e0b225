namespace DeepSlide.Pipeline;

public static class DiskSpace
{
    /// <summary>Whether <paramref name="ex"/> (or an exception inside it) is a write refused for want of space (ENOSPC).</summary>
    public static bool IsFull(Exception? ex) => ex switch
    {
        null => false,
        IOException io when io.HResult == 28 || io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase) => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsFull),
        _ => IsFull(ex.InnerException),
    };
}
