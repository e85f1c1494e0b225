using System.ComponentModel.DataAnnotations;
using DeepSlide.Pipeline;

namespace DeepSlide.Viewer.Host.Extensions;

/// <summary>The viewer container's settings, from the "Viewer" section (<c>Viewer__*</c> variables).</summary>
public sealed class ViewerHostOptions
{
    public const string Section = "Viewer";

    /// <summary>The data account's blob endpoint (slides and results), reached by managed identity.</summary>
    [Required]
    [Url]
    public string StorageBlobServiceUri { get; set; } = string.Empty;

    [Required]
    [Url]
    public string CosmosEndpoint { get; set; } = string.Empty;

    /// <summary>The user-assigned identity the code uses; the default credential chain when empty.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>App roles admitted; Container Apps authentication hands the caller's to the app.</summary>
    [MinLength(1)]
    public string[] RequiredRoles { get; set; } = [CallerPrincipal.Read, CallerPrincipal.ReadWrite];

    /// <summary>Sparse slide files and scratch space on the replica's ephemeral disk.</summary>
    [Required]
    public string CacheFolder { get; set; } = Path.Combine(Path.GetTempPath(), "deepslide-viewer");

    /// <summary>Disk the slides may take, shared between sparse files and whole downloads.</summary>
    [Range(64L << 20, 64L << 30)]
    public long SlideCacheBytes { get; set; } = 1L << 30;
}
