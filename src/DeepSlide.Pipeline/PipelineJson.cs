using System.Text.Json;

namespace DeepSlide.Pipeline;

/// <summary>
/// The pipeline's one JSON format (web defaults: camelCase, case-insensitive reads) for work messages, notices, run
/// documents and the HTTP API. The options are made once: each instance builds its own serialization metadata.
/// </summary>
public static class PipelineJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>The same format, indented, for files people read.</summary>
    public static readonly JsonSerializerOptions Indented = new(Options) { WriteIndented = true };
}
