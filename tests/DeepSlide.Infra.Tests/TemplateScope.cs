using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace DeepSlide.Infra.Tests;

/// <summary>
/// The compiled template's values as Azure would resolve them for one deployment: a parameter file's value, else the
/// default, through the main template's variables and a module's parameters. A small ARM expression evaluator:
/// literals, parameters(), variables(), string(), format(), padLeft(), if(), and(), or(), not(), equals(), empty(),
/// true(), false(), environment() of the public cloud, cidrSubnet() and member access. Anything known only after
/// deployment (reference(), resourceId()) resolves to null.
/// </summary>
internal sealed class TemplateScope
{
    private static readonly Dictionary<string, JsonObject> ParameterFiles = [];

    private readonly Func<string, string?> parameter;
    private readonly Func<string, string?> variable;

    private TemplateScope(Func<string, string?> parameter, Func<string, string?> variable)
    {
        this.parameter = parameter;
        this.variable = variable;
    }

    /// <summary>The main template deployed with <paramref name="parameterFile"/> (null: every default).</summary>
    public static TemplateScope For(string? parameterFile)
    {
        JsonObject values = parameterFile is null ? [] : BuildParams(parameterFile);
        JsonObject main = CompiledTemplate.Template;
        TemplateScope? scope = null;
        scope = new TemplateScope(
            name => values[name]?["value"] is JsonNode given ? Literal(given) : scope!.Resolve(main["parameters"]![name]!["defaultValue"]),
            name => scope!.Resolve(main["variables"]![name]));
        return scope;
    }

    /// <summary>The nested template of the module deployed under <paramref name="name"/>, its parameters passed from this scope.</summary>
    public TemplateScope Module(string name)
    {
        JsonObject deployment = CompiledTemplate.Module(name);
        TemplateScope? scope = null;
        scope = new TemplateScope(
            p => deployment["properties"]!["parameters"]![p]?["value"] is JsonNode passed
                ? Resolve(passed)
                : scope!.Resolve(deployment["properties"]!["template"]!["parameters"]![p]!["defaultValue"]),
            _ => null);
        return scope;
    }

    /// <summary>Whether a resource or module with this condition is deployed (no condition: always).</summary>
    public bool Deployed(JsonNode resource) => resource["condition"] is not JsonNode condition || Resolve(condition) == "true";

    public string? Parameter(string name) => parameter(name);

    public string? Resolve(JsonNode? node)
    {
        if (node is null)
        {
            return null;
        }

        string literal = Literal(node);
        if (node is not JsonValue || !literal.StartsWith('[') || literal.StartsWith("[[", StringComparison.Ordinal))
        {
            return literal;
        }

        int at = 0;
        return Evaluate(literal[1..^1], ref at);
    }

    private string? Evaluate(string text, ref int at)
    {
        string? value = Primary(text, ref at);
        while (at < text.Length && text[at] == '.')
        {
            int start = ++at;
            while (at < text.Length && char.IsLetterOrDigit(text[at]))
            {
                at++;
            }

            value = value is null ? null : Literal(JsonNode.Parse(value)![text[start..at]]!);
        }

        return value;
    }

    private string? Primary(string text, ref int at)
    {
        if (text[at] == '\'')
        {
            // A string literal; '' inside it is one quote.
            var value = new System.Text.StringBuilder();
            for (at++; ; at++)
            {
                if (text[at] == '\'' && (at + 1 >= text.Length || text[at + 1] != '\''))
                {
                    at++;
                    return value.ToString();
                }

                at += text[at] == '\'' ? 1 : 0;
                value.Append(text[at]);
            }
        }

        int start = at;
        while (at < text.Length && char.IsLetterOrDigit(text[at]))
        {
            at++;
        }

        string name = text[start..at];
        if (at >= text.Length || text[at] != '(')
        {
            return int.TryParse(name, out _) ? name : null;
        }

        at++;
        var arguments = new List<string?>();
        while (text[at] != ')')
        {
            arguments.Add(Evaluate(text, ref at));
            while (text[at] is ',' or ' ')
            {
                at++;
            }
        }

        at++;
        if (name == "format")
        {
            // Inside a format, a value known only after deployment is an identity's id in this template.
            arguments = [.. arguments.Select(a => a ?? "00000000-0000-0000-0000-000000000000")];
        }

        if (name == "if" && arguments[0] is string test)
        {
            return test == "true" ? arguments[1] : arguments[2];
        }

        if (name == "coalesce")
        {
            // The first argument that is not null; an unknown one before it leaves the result unknown.
            return arguments.TakeWhile(a => a is not null).FirstOrDefault(a => a != Null) is string first
                ? first
                : arguments.All(a => a == Null) ? Null : null;
        }

        if (name == "tryGet" && arguments[0] == Null)
        {
            return Null;
        }

        if (arguments.Any(a => a is null))
        {
            return null;
        }

        return name switch
        {
            "parameters" => parameter(arguments[0]!),
            "variables" => variable(arguments[0]!),
            "string" => arguments[0],
            "padLeft" => arguments[0]!.PadLeft(int.Parse(arguments[1]!, CultureInfo.InvariantCulture), arguments[2]![0]),
            "format" => string.Format(CultureInfo.InvariantCulture, arguments[0]!, arguments.Skip(1).ToArray<object?>()),
            "null" => Null,
            "createArray" => new JsonArray([.. arguments.Select(Node)]).ToJsonString(),
            "createObject" => new JsonObject(arguments.Chunk(2).Select(kv => KeyValuePair.Create(kv[0]!, Node(kv[1])))).ToJsonString(),
            "true" => "true",
            "false" => "false",
            "not" => Bool(arguments[0] != "true"),
            "and" => Bool(arguments.All(a => a == "true")),
            "or" => Bool(arguments.Any(a => a == "true")),
            "equals" => Bool(arguments[0] == arguments[1]),
            "empty" => Bool(arguments[0] is "" or "[]" or "{}"),
            "environment" => """{"suffixes":{"storage":"core.windows.net"}}""",
            "cidrSubnet" => CidrSubnet(arguments[0]!, int.Parse(arguments[1]!, CultureInfo.InvariantCulture), int.Parse(arguments[2]!, CultureInfo.InvariantCulture)),
            _ => null,
        };
    }

    /// <summary>ARM's null, as distinct from a value known only after deployment (C# null).</summary>
    private const string Null = "null";

    private static string Bool(bool value) => value ? "true" : "false";

    private static JsonNode? Node(string? value) =>
        value is null ? null
        : value.StartsWith('{') || value.StartsWith('[') || value is "true" or "false" || int.TryParse(value, out _) ? JsonNode.Parse(value)
        : JsonValue.Create(value);

    /// <summary>ARM's cidrSubnet: the <paramref name="index"/>-th subnet of length <paramref name="length"/> in the range.</summary>
    private static string CidrSubnet(string range, int length, int index)
    {
        IPNetwork network = IPNetwork.Parse(range);
        if (network.BaseAddress.AddressFamily != AddressFamily.InterNetwork || length < network.PrefixLength || length > 32)
        {
            throw new ArgumentException($"cidrSubnet({range}, {length}, {index})");
        }

        uint start = Address(network.BaseAddress) + (uint)((ulong)index << (32 - length));
        byte[] bytes = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes, start);
        return $"{new IPAddress(bytes)}/{length}";
    }

    public static uint Address(IPAddress address) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());

    public static string Literal(JsonNode node) => node is JsonValue v && v.TryGetValue(out string? s) ? s! : node.ToJsonString();

    private static JsonObject BuildParams(string file)
    {
        lock (ParameterFiles)
        {
            if (!ParameterFiles.TryGetValue(file, out JsonObject? values))
            {
                values = CompiledTemplate.Build("build-params", file)["parameters"]!.AsObject();
                ParameterFiles[file] = values;
            }

            return (JsonObject)values.DeepClone();
        }
    }
}
