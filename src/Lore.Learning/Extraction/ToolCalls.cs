using System.Text.Json;

namespace Lore.Learning.Extraction;

/// <summary>One tool call of an episode as the LLM-free extractors see it.</summary>
internal readonly record struct ToolCall(int StepIndex, string Name, string? ArgumentsJson, string? Result, bool Failed);

/// <summary>A tool call's arguments, parsed once: each top-level key with its value kind and compact JSON.</summary>
internal sealed class ParsedArguments
{
    public static readonly ParsedArguments Invalid = new([], valid: false);

    private ParsedArguments(Dictionary<string, (string Kind, string Json)> values, bool valid)
    {
        Values = values;
        IsValid = valid;
    }

    /// <summary>Key -> (kind such as "string" or "empty list", compact JSON of the value).</summary>
    public IReadOnlyDictionary<string, (string Kind, string Json)> Values { get; }

    /// <summary>False when the arguments were not a JSON object (a model can emit broken arguments).</summary>
    public bool IsValid { get; }

    /// <summary>Parses the arguments; <paramref name="withValues"/> false skips the compact JSON of each value (kinds only, faster).</summary>
    public static ParsedArguments Parse(string? json, bool withValues = true)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return new ParsedArguments([], valid: true);
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Invalid;
            }

            var values = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                values[property.Name] = (KindOf(property.Value), withValues ? Compact(property.Value) : "");
            }

            return new ParsedArguments(values, valid: true);
        }
        catch (JsonException)
        {
            return Invalid;
        }
    }

    /// <summary>The shape of a value, coarse enough to recur across calls: what kind, and for lists and numbers a little more.</summary>
    public static string KindOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => value.TryGetDouble(out var d) && d == 0 ? "zero" : value.TryGetDouble(out d) && d < 0 ? "negative" : "number",
        JsonValueKind.String => value.GetString()!.Length == 0 ? "empty string" : "string",
        JsonValueKind.Array => value.GetArrayLength() switch
        {
            0 => "empty list",
            1 => "one-item list",
            _ => "list",
        },
        JsonValueKind.Object => "object",
        _ => "undefined",
    };

    private static string Compact(JsonElement value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            value.WriteTo(writer);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}

internal static class ToolCalls
{
    /// <summary>The tool steps of an episode in order.</summary>
    public static List<ToolCall> Of(Episode episode)
    {
        var calls = new List<ToolCall>();
        foreach (var step in episode.Steps)
        {
            if (step.Kind == StepKind.ToolCall && !string.IsNullOrEmpty(step.ToolName))
            {
                calls.Add(new ToolCall(step.Index, step.ToolName, step.ToolArguments, step.ToolResult, step.ToolFailed));
            }
        }

        return calls;
    }

    /// <summary>Top-level argument keys whose values differ between two calls (added, removed or changed), in order.</summary>
    public static IReadOnlyList<string> ChangedKeys(ParsedArguments before, ParsedArguments after)
    {
        var changed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (key, value) in before.Values)
        {
            if (!after.Values.TryGetValue(key, out var other) || other.Json != value.Json)
            {
                changed.Add(key);
            }
        }

        foreach (var key in after.Values.Keys)
        {
            if (!before.Values.ContainsKey(key))
            {
                changed.Add(key);
            }
        }

        return [.. changed];
    }

    /// <summary>Joins names for a sentence: "a", "a and b", "a, b and c".</summary>
    public static string JoinWords(IReadOnlyList<string> words) => words.Count switch
    {
        0 => "",
        1 => words[0],
        _ => string.Join(", ", words.Take(words.Count - 1)) + " and " + words[^1],
    };
}
