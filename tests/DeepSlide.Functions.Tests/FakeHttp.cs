using System.Collections.Specialized;
using System.Security.Claims;
using System.Text;
using Azure.Core.Serialization;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.Extensions.DependencyInjection;

namespace DeepSlide.Functions.Tests;

/// <summary>The smallest Functions context an HTTP function needs outside the host: an invocation id and a JSON serializer.</summary>
internal sealed class FakeContext : FunctionContext
{
    private static readonly IServiceProvider Services = new ServiceCollection()
        .Configure<WorkerOptions>(o => o.Serializer = new JsonObjectSerializer(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)))
        .BuildServiceProvider();

    public override string InvocationId { get; } = Guid.NewGuid().ToString("N");

    public override string FunctionId => "test";

    public override TraceContext TraceContext => null!;

    public override BindingContext BindingContext => null!;

    public override RetryContext RetryContext => null!;

    public override IServiceProvider InstanceServices { get; set; } = Services;

    public override FunctionDefinition FunctionDefinition => null!;

    public override IDictionary<object, object> Items { get; set; } = new Dictionary<object, object>();

    public override IInvocationFeatures Features => null!;
}

internal sealed class FakeRequest(FunctionContext context, string method, string? body = null, params string[] roles) : HttpRequestData(context)
{
    /// <summary>A request as App Service authentication passes it on: the caller's claims, here its app roles.</summary>
    public FakeRequest(FunctionContext context, string method, string? body = null)
        : this(context, method, body, DeepSlide.Functions.CallerRoles.ReadWrite)
    {
    }

    public override Stream Body { get; } = new MemoryStream(Encoding.UTF8.GetBytes(body ?? string.Empty));

    public override HttpHeadersCollection Headers { get; } = Principal(roles);

    public override IReadOnlyCollection<IHttpCookie> Cookies { get; } = [];

    private static HttpHeadersCollection Principal(string[] roles)
    {
        var headers = new HttpHeadersCollection();
        if (roles.Length > 0)
        {
            string json = System.Text.Json.JsonSerializer.Serialize(new
            {
                auth_typ = "aad",
                name_typ = "name",
                role_typ = "roles",
                claims = roles.Select(r => new { typ = "roles", val = r }).Append(new { typ = "name", val = "pathologist@lab.example" }),
            });
            headers.Add(DeepSlide.Functions.CallerRoles.Header, Convert.ToBase64String(Encoding.UTF8.GetBytes(json)));
        }

        return headers;
    }

    public override Uri Url { get; } = new("https://func.example/api/runs");

    public override IEnumerable<ClaimsIdentity> Identities { get; } = [];

    public override string Method { get; } = method;

    public override HttpResponseData CreateResponse() => new FakeResponse(FunctionContext);
}

internal sealed class FakeResponse(FunctionContext context) : HttpResponseData(context)
{
    public override System.Net.HttpStatusCode StatusCode { get; set; }

    public override HttpHeadersCollection Headers { get; set; } = [];

    public override Stream Body { get; set; } = new MemoryStream();

    public override HttpCookies Cookies => null!;

    public string Text => Encoding.UTF8.GetString(((MemoryStream)Body).ToArray());
}
