using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker.Http;

namespace DeepSlide.Functions;

/// <summary>
/// Who may call the HTTP API. App Service authentication (Entra ID, configured by infra/) validates the bearer token,
/// rejects callers without one, and hands the app the caller's claims in <c>X-MS-CLIENT-PRINCIPAL</c>, removing any
/// such header a client sent. The app checks the app role: <see cref="ReadWrite"/> for everything,
/// <see cref="Read"/> for reading runs. Function keys are not the gate: slides and results are patient data.
/// </summary>
public static class CallerRoles
{
    public const string Header = "X-MS-CLIENT-PRINCIPAL";
    public const string Read = "Runs.Read";
    public const string ReadWrite = "Runs.ReadWrite";

    /// <summary>Null when the caller holds one of <paramref name="allowed"/>; otherwise why not, with 401 or 403.</summary>
    public static (HttpStatusCode Status, string Detail)? Refusal(HttpRequestData request, params string[] allowed)
    {
        if (!request.Headers.TryGetValues(Header, out IEnumerable<string>? values) || values.FirstOrDefault() is not { Length: > 0 } encoded)
        {
            return (HttpStatusCode.Unauthorized, "no authenticated caller: call the API with an Entra ID token for its audience.");
        }

        IReadOnlySet<string> roles;
        try
        {
            roles = RolesOf(encoded);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return (HttpStatusCode.Unauthorized, "the caller's principal could not be read.");
        }

        return allowed.Any(roles.Contains)
            ? null
            : (HttpStatusCode.Forbidden, $"the caller holds none of the app roles {string.Join(", ", allowed)}.");
    }

    /// <summary>The role claims of an App Service client principal (base64 JSON with <c>claims</c> and <c>role_typ</c>).</summary>
    public static IReadOnlySet<string> RolesOf(string encoded)
    {
        using JsonDocument principal = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(encoded)));
        JsonElement root = principal.RootElement;
        string roleType = root.TryGetProperty("role_typ", out JsonElement r) && r.GetString() is { Length: > 0 } t ? t : "roles";
        var roles = new HashSet<string>(StringComparer.Ordinal);
        if (root.TryGetProperty("claims", out JsonElement claims) && claims.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement claim in claims.EnumerateArray())
            {
                if (claim.TryGetProperty("typ", out JsonElement typ) && (typ.GetString() == roleType || typ.GetString() == "roles")
                    && claim.TryGetProperty("val", out JsonElement val) && val.GetString() is { } role)
                {
                    roles.Add(role);
                }
            }
        }

        return roles;
    }
}
