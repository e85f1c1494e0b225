namespace DeepSlide;

/// <summary>Why an operation on a slide, plan or data set failed.</summary>
public enum DeepSlideErrorReason
{
    Unknown = 0,
    FileNotFound,
    EmptyFile,
    CorruptFile,
    UnsupportedFormat,
    SlideTooSmall,
    NoTissue,
    LevelUnavailable,
    ResolutionUnavailable,
    InvalidArgument,
    InvalidDataset,
    InvalidModel,
    SlideTooLarge,
}

/// <summary>
/// The one exception type of the domain. <see cref="Path"/> names the file (or folder) at fault,
/// and the message always says what is wrong with it.
/// </summary>
public sealed class DeepSlideException : Exception
{
    public DeepSlideException(DeepSlideErrorReason reason, string? path, string message, Exception? innerException = null)
        : base(path is null ? message : $"{path}: {message}", innerException)
    {
        Reason = reason;
        Path = path;
        Problem = message;
    }

    public DeepSlideErrorReason Reason { get; }

    public string? Path { get; }

    /// <summary>The problem alone, without the path.</summary>
    public string Problem { get; }
}
