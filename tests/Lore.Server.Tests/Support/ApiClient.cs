using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Lore.Server.Tests.Support;

/// <summary>JSON calls to the REST API with a real HttpClient, returning the status and the parsed body.</summary>
internal static class ApiClient
{
    public sealed record Response(HttpStatusCode Status, JsonNode? Body, string Text, HttpResponseHeaders Headers, string? ContentType)
    {
        public JsonNode Json => Body ?? throw new InvalidOperationException($"The response ({(int)Status}) has no JSON body: {Text}");

        /// <summary>The validation errors of a problem response, by field.</summary>
        public IReadOnlyCollection<string> ErrorFields => Body?["errors"] is JsonObject errors ? [.. errors.Select(p => p.Key)] : [];
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static Task<Response> ApiGetAsync(this HttpClient client, string path) => SendAsync(client, HttpMethod.Get, path, null);

    public static Task<Response> ApiPostAsync(this HttpClient client, string path, object? body = null)
        => SendAsync(client, HttpMethod.Post, path, body is null ? null : body as string ?? JsonSerializer.Serialize(body, LoreJson.Options));

    /// <summary>Posts <paramref name="rawJson"/> exactly as given (malformed JSON included).</summary>
    public static Task<Response> ApiPostRawAsync(this HttpClient client, string path, string rawJson, string contentType = "application/json")
        => SendAsync(client, HttpMethod.Post, path, rawJson, contentType);

    public static async Task<Response> SendAsync(HttpClient client, HttpMethod method, string path, string? json, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using var response = await client.SendAsync(request, Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        JsonNode? body = null;
        if (text.Length > 0 && response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) == true)
        {
            body = JsonNode.Parse(text);
        }

        return new Response(response.StatusCode, body, text, response.Headers, response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>An ended episode with a tool error, for learning: a refund that fails until the order is looked up.</summary>
    public static object RefundEpisode(int i, string unit, bool recovered) => new
    {
        task = $"refund order {1000 + i}",
        unit,
        labels = new Dictionary<string, string> { ["slice"] = "refunds" },
        steps = recovered
            ? new object[]
            {
                new { kind = "toolCall", tool = "refund_order", arguments = new { order = 1000 + i }, result = $"Error: order {1000 + i} must be looked up before it can be refunded" },
                new { kind = "toolCall", tool = "lookup_order", arguments = new { order = 1000 + i }, result = "{\"total\":30}" },
                new { kind = "toolCall", tool = "refund_order", arguments = new { order = 1000 + i }, result = "{\"ok\":true}" },
            }
            : new object[]
            {
                new { kind = "toolCall", tool = "refund_order", arguments = new { order = 1000 + i }, result = $"Error: order {1000 + i} must be looked up before it can be refunded" },
            },
        outcomes = new[] { new { score = recovered ? 1.0 : 0.0, source = "environment" } },
        ended = true,
    };
}
