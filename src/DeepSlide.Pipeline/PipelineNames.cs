using System.Security.Cryptography;
using System.Text;

namespace DeepSlide.Pipeline;

/// <summary>
/// The names the pipeline's code and its deployment (infra/) share: containers, queues, the task hub and the
/// orchestration event. Bicep declares the same names; a test keeps them in step.
/// </summary>
public static class PipelineNames
{
    public const string SlidesContainer = "slides";
    public const string ResultsContainer = "results";
    public const string ModelsContainer = "models";
    public const string RangeQueue = "tile-ranges";
    public const string CompletionQueue = "range-completions";
    public const string Database = "deepslide";
    public const string RunsContainer = "runs";
    public const string TaskHub = "DeepSlideHub";
    public const string DefaultModelPrefix = "default";

    /// <summary>
    /// Runs started by an upload: the same slide version always maps to the same run, so a repeated event starts
    /// nothing. ETags are compared without their quotes: a blob listing and Event Grid give them bare, a blob's
    /// properties quoted.
    /// </summary>
    public static string RunIdForUpload(string slideBlob, string slideETag) => "run-" + Hash($"{slideBlob}\n{BareETag(slideETag)}", 32);

    /// <summary>Runs asked for by a person (another model, a retry): <paramref name="request"/> tells them apart.</summary>
    public static string RunIdForRerun(string slideBlob, string slideETag, string modelPrefix, string request) =>
        "rerun-" + Hash($"{slideBlob}\n{BareETag(slideETag)}\n{modelPrefix}\n{request}", 32);

    private static string BareETag(string etag) => etag.Trim('"');

    internal static string Hash(string text, int hexChars) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..hexChars];
}

/// <summary>Where a run's outputs live in the results container.</summary>
public static class RunBlobs
{
    public static string Folder(string runId) => $"runs/{runId}";

    public static string Plan(string runId) => $"runs/{runId}/plan.json";

    public static string Range(string runId, int range) => $"runs/{runId}/ranges/{range:D5}.parquet";

    /// <summary>Patch features (float32, little-endian, one row per patch), written only for models whose aggregators need them.</summary>
    public static string RangeFeatures(string runId, int range) => $"runs/{runId}/ranges/{range:D5}.features";

    public static string Patches(string runId) => $"runs/{runId}/patches.parquet";

    public static string Result(string runId) => $"runs/{runId}/result.json";

    public static string Pictures(string runId) => $"runs/{runId}/pictures";
}

/// <summary>Checks a slide's blob name before anything is read or started from it.</summary>
public static class SlideBlobName
{
    public const int MaxLength = 1024;

    /// <summary>Null when the name is acceptable, otherwise why not.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "the blob name is empty.";
        }

        if (name.Length > MaxLength)
        {
            return $"the blob name is {name.Length} characters long; at most {MaxLength} are accepted.";
        }

        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsControl(name[i]))
            {
                return $"the blob name contains a control character (U+{(int)name[i]:X4} at position {i}).";
            }
        }

        string[] segments = name.Replace('\\', '/').Split('/');
        if (segments.Any(s => s is ".." or "."))
        {
            return "the blob name contains a '.' or '..' path segment.";
        }

        if (name.StartsWith('/') || segments.Any(s => s.Length == 0))
        {
            return "the blob name has an empty path segment.";
        }

        return null;
    }

    /// <summary>Throws a <see cref="DeepSlideException"/> naming the blob and the problem.</summary>
    public static void Validate(string name)
    {
        if (Problem(name) is { } problem)
        {
            throw new DeepSlideException(DeepSlideErrorReason.InvalidArgument, Printable(name), problem);
        }
    }

    /// <summary>The name as it can be shown in a log or a status: control characters escaped, long names shortened.</summary>
    public static string Printable(string? name)
    {
        if (name is null)
        {
            return "(none)";
        }

        var text = new StringBuilder();
        foreach (char c in name.Length > 200 ? name[..200] : name)
        {
            text.Append(char.IsControl(c) ? $"\\u{(int)c:X4}" : c);
        }

        return name.Length > 200 ? $"{text}… ({name.Length} characters)" : text.ToString();
    }
}
