using System.Collections.Immutable;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;

namespace Lore.Server.Tests.Mcp;

/// <summary>What the MCP tests store and send: a served lesson, a real-looking trajectory, and readers of tool results.</summary>
internal static class McpTestData
{
    public const string RefundTask = "refund order 1142 for a customer, the item arrived damaged";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A lesson about refunds, scoped to <paramref name="tenant"/>.</summary>
    public static Lesson RefundLesson(string tenant, string id = "les-refund-lookup") => new()
    {
        Id = id,
        Kind = LessonKind.ToolGuide,
        Text = "Look up the order with lookup_order before issuing any refund.",
        Trigger = LessonTrigger.OnDescription("refund an order for a customer"),
        Scope = new LessonScope { Tenant = tenant, Labels = ImmutableSortedDictionary<string, string>.Empty },
        Evidence = new LessonEvidence { EpisodeCount = 5, DistinctSources = 3, Support = 5 },
        Extractor = new ExtractorInfo("test", "1"),
        Confidence = 0.9,
        CreatedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
    };

    /// <summary>Stores the lessons in a new snapshot of the tenant and makes it the one served.</summary>
    public static async Task<Snapshot> ServeAsync(ILoreStore store, string tenant, params Lesson[] lessons)
    {
        var snapshot = Snapshot.Create(null, tenant, lessons, new RetrievalSettings(), "test", "lessons for the MCP tests", DateTimeOffset.UtcNow);
        await store.SaveLessonsAsync(lessons, Ct);
        await store.SaveSnapshotAsync(snapshot, Ct);
        await store.SetActiveSnapshotAsync(tenant, snapshot.Id, Ct);
        return snapshot;
    }

    /// <summary>An agent's conversation in OpenAI chat format: a tool call that fails, a recovery and a final answer.</summary>
    public static JsonElement RefundConversation() => Json("""
        [
          {"role": "system", "content": "You are a support agent."},
          {"role": "user", "content": "Please refund order 1142, it arrived damaged."},
          {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "issue_refund", "arguments": "{\"order_id\": \"1142\"}"}}]},
          {"role": "tool", "tool_call_id": "call_1", "content": "Error: order 1142 must be looked up first"},
          {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_2", "type": "function", "function": {"name": "lookup_order", "arguments": "{\"order_id\": \"1142\"}"}},
            {"id": "call_3", "type": "function", "function": {"name": "issue_refund", "arguments": "{\"order_id\": \"1142\"}"}}]},
          {"role": "tool", "tool_call_id": "call_2", "content": "{\"order_id\": \"1142\", \"status\": \"delivered\"}"},
          {"role": "tool", "tool_call_id": "call_3", "content": "refund issued"},
          {"role": "assistant", "content": "Order 1142 has been refunded."}
        ]
        """);

    public static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>An MCP client of <c>/mcp</c> at <paramref name="baseAddress"/>, presenting <paramref name="key"/> (none when null).</summary>
    public static Task<McpClient> ConnectHttpAsync(Uri baseAddress, string? key)
        => McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(baseAddress, "mcp"),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = key is null ? null : new Dictionary<string, string> { ["Authorization"] = $"Bearer {key}" },
            }),
            cancellationToken: Ct);

    public static Task<CallToolResult> CallAsync(this McpClient client, string tool, Dictionary<string, object?> arguments)
        => client.CallToolAsync(tool, arguments, cancellationToken: Ct).AsTask();

    /// <summary>The text the tool returned (for an error, its message).</summary>
    public static string Text(this CallToolResult result)
        => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));

    /// <summary>A successful call's structured result; fails the test with the tool's message when the call failed.</summary>
    public static JsonElement Ok(this CallToolResult result)
    {
        Assert.True(result.IsError is not true, $"the tool failed: {result.Text()}");
        Assert.NotNull(result.StructuredContent);
        return JsonSerializer.SerializeToElement(result.StructuredContent);
    }

    /// <summary>Asserts the call failed as a tool error and returns its message.</summary>
    public static string Error(this CallToolResult result)
    {
        Assert.True(result.IsError, $"expected a tool error, got: {result.Text()}");
        return result.Text();
    }

    public static async Task<string> ReadTextAsync(this McpClient client, string uri)
    {
        var result = await client.ReadResourceAsync(uri, cancellationToken: Ct);
        return Assert.IsType<TextResourceContents>(Assert.Single(result.Contents)).Text;
    }
}
