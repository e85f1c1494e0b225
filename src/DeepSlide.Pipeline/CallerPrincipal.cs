using System.Text;
using System.Text.Json;

namespace DeepSlide.Pipeline;

/// <summary>
/// The caller as App Service and Container Apps authentication (Entra ID, configured by infra/) hand it to an app:
/// base64 JSON in <c>X-MS-CLIENT-PRINCIPAL</c>, with the token's claims and the role claim type. The platform validates
/// the token, rejects callers without one, and removes any such header a client sent. The runs API and the viewer
/// check app roles with it.
/// </summary>
public static class CallerPrincipal
{
    public const string Header = "X-MS-CLIENT-PRINCIPAL";
    public const string Read = "Runs.Read";
    public const string ReadWrite = "Runs.ReadWrite";

    /// <summary>Null when the principal holds one of <paramref name="allowed"/>; otherwise why not, with 401 or 403.</summary>
    public static (int Status, string Detail)? Refusal(string? encoded, params string[] allowed)
    {
        if (string.IsNullOrEmpty(encoded))
        {
            return (401, "no authenticated caller: sign in with an Entra ID account, or call with a token for the app's audience.");
        }

        IReadOnlySet<string> roles;
        try
        {
            roles = RolesOf(encoded);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return (401, "the caller's principal could not be read.");
        }

        return allowed.Any(roles.Contains)
            ? null
            : (403, $"the caller holds none of the app roles {string.Join(", ", allowed)}.");
    }

    /// <summary>The role claims of a client principal (base64 JSON with <c>claims</c> and <c>role_typ</c>).</summary>
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
