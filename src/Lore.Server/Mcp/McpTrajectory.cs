using System.Buffers;
using System.Text.Json;
using ModelContextProtocol;

namespace Lore.Server.Mcp;

/// <summary>
/// Turns what an agent sends to <c>record_trajectory</c> into an <see cref="Episode"/> through the ingest mapper, so a
/// trajectory recorded over MCP is validated and shaped exactly like one imported with <c>lore ingest</c> (OpenAI
/// chat-completions messages; the same rules for tool calls, tool results, outcomes and units).
/// </summary>
internal static class McpTrajectory
{
    private const string Source = "record_trajectory";

    /// <summary>The episode the arguments describe; bad arguments throw an <see cref="McpException"/> naming the field at fault.</summary>
    public static Episode Map(
        string episodeId,
        string tenant,
        JsonElement messages,
        JsonElement? outcome,
        string? unit,
        IReadOnlyDictionary<string, string>? labels,
        DateTimeOffset now)
    {
        if (messages.ValueKind != JsonValueKind.Array)
        {
            throw new McpException($"{Source}: messages is {Kind(messages.ValueKind)}, expected an array of OpenAI chat messages. Nothing was stored.");
        }

        if (messages.GetArrayLength() == 0)
        {
            throw new McpException($"{Source}: messages is empty; send the conversation of the task. Nothing was stored.");
        }

        var options = new ImportOptions { Tenant = tenant };
        foreach (var (name, value) in labels ?? new Dictionary<string, string>())
        {
            options.Labels[name] = value;
        }

        using var record = Record(episodeId, messages, outcome, unit);
        Episode episode;
        try
        {
            episode = TrajectoryImporter.MapRecord(record.RootElement, options, now, Source);
        }
        catch (TrajectoryFormatException ex)
        {
            throw new McpException($"{Source}: {WithoutRecordPrefix(ex.Message)} Nothing was stored.", ex);
        }

        if (!episode.Steps.Any(s => s.Kind == StepKind.ModelCall))
        {
            throw new McpException($"{Source}: messages has no assistant message; a trajectory needs at least one model response to learn from. Nothing was stored.");
        }

        return episode;
    }

    /// <summary>The arguments as one conversation record of an import file: <c>{id, user, messages, outcome}</c>.</summary>
    private static JsonDocument Record(string episodeId, JsonElement messages, JsonElement? outcome, string? unit)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("id", episodeId);
            if (unit is not null)
            {
                writer.WriteString("user", unit);
            }

            writer.WritePropertyName("messages");
            messages.WriteTo(writer);
            if (outcome is { ValueKind: not JsonValueKind.Undefined } given)
            {
                writer.WritePropertyName("outcome");
                given.WriteTo(writer);
            }

            writer.WriteEndObject();
        }

        return JsonDocument.Parse(buffer.WrittenMemory);
    }

    /// <summary>The mapper names a file and record; here there is one record, so only the field and the problem matter.</summary>
    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => kind.ToString().ToLowerInvariant(),
    };

    private static string WithoutRecordPrefix(string message)
    {
        const string prefix = Source + ": record 0: ";
        return message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message;
    }
}
