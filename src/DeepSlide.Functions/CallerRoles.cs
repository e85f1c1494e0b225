using System.Net;
using DeepSlide.Pipeline;
using Microsoft.Azure.Functions.Worker.Http;

namespace DeepSlide.Functions;

/// <summary>
/// Who may call the HTTP API: the app role in the caller's principal (<see cref="CallerPrincipal"/>),
/// <see cref="ReadWrite"/> for everything, <see cref="Read"/> for reading runs. Function keys are not the gate: slides
/// and results are patient data.
/// </summary>
public static class CallerRoles
{
    public const string Header = CallerPrincipal.Header;
    public const string Read = CallerPrincipal.Read;
    public const string ReadWrite = CallerPrincipal.ReadWrite;

    /// <summary>Null when the caller holds one of <paramref name="allowed"/>; otherwise why not, with 401 or 403.</summary>
    public static (HttpStatusCode Status, string Detail)? Refusal(HttpRequestData request, params string[] allowed)
    {
        string? encoded = request.Headers.TryGetValues(Header, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;
        return CallerPrincipal.Refusal(encoded, allowed) is { } refusal ? ((HttpStatusCode)refusal.Status, refusal.Detail) : null;
    }

    /// <summary>The role claims of an App Service client principal.</summary>
    public static IReadOnlySet<string> RolesOf(string encoded) => CallerPrincipal.RolesOf(encoded);
}
