using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Lore.Server.Mcp;

/// <summary>
/// Checks a tool call's arguments against the tool's own input schema (required properties, JSON types, unknown
/// properties) before the tool runs, so a wrong call comes back as a tool error naming the argument ("task is
/// required", "tools must be an array of strings, not a string") instead of the SDK's generic "An error occurred
/// invoking". A tool's own refusals (<see cref="McpException"/>) are user errors: answered as tool errors and logged at
/// debug, never at error with a stack trace.
/// </summary>
internal static partial class McpArgumentCheck
{
    public static IMcpServerBuilder AddTo(IMcpServerBuilder builder)
        => builder.WithRequestFilters(filters => filters.AddCallToolFilter(next => async (context, cancellationToken) =>
        {
            var name = context.Params?.Name ?? "";
            if (context.MatchedPrimitive is McpServerTool tool
                && Problem(name, tool.ProtocolTool.InputSchema, context.Params?.Arguments) is { } problem)
            {
                return Refusal(problem);
            }

            try
            {
                return await next(context, cancellationToken).ConfigureAwait(false);
            }
            catch (McpException e)
            {
                var logger = context.Services?.GetService<ILoggerFactory>()?.CreateLogger(typeof(McpArgumentCheck).FullName!);
                if (logger is not null)
                {
                    LogRefused(logger, name, e.Message);
                }

                return Refusal(e.Message);
            }
        }));

    /// <summary>What is wrong with <paramref name="arguments"/> for a tool with <paramref name="schema"/>, or null when nothing is.</summary>
    public static string? Problem(string tool, JsonElement schema, IDictionary<string, JsonElement>? arguments)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var properties = schema.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
        {
            foreach (var r in required.EnumerateArray())
            {
                var key = r.GetString();
                if (key is not null && (arguments is null || !arguments.TryGetValue(key, out var given) || given.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined))
                {
                    return $"{tool}: argument '{key}' is required. Nothing was done.";
                }
            }
        }

        if (arguments is null || properties.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var (key, value) in arguments)
        {
            if (!properties.TryGetProperty(key, out var property))
            {
                var known = string.Join(", ", properties.EnumerateObject().Select(o => o.Name));
                return $"{tool}: argument '{key}' is not one this tool takes (it takes {known}). Nothing was done.";
            }

            if (TypeProblem(key, property, value) is { } problem)
            {
                return $"{tool}: {problem}. Nothing was done.";
            }
        }

        return null;
    }

    private static string? TypeProblem(string path, JsonElement schema, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null && Allows(schema, "null"))
        {
            return null;
        }

        var types = Types(schema);
        if (types.Count == 0)
        {
            return null;
        }

        var kind = KindOf(value);
        if (!types.Contains(kind) && !(kind == "integer" && types.Contains("number")))
        {
            return $"argument '{path}' must be {string.Join(" or ", types.Where(t => t != "null").Select(Article))}, not {Article(kind)}";
        }

        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Object)
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (TypeProblem($"{path}[{i}]", items, item) is { } problem)
                {
                    return problem;
                }

                i++;
            }
        }

        if (value.ValueKind == JsonValueKind.Object && schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in value.EnumerateObject())
            {
                if (TypeProblem($"{path}.{property.Name}", additional, property.Value) is { } problem)
                {
                    return problem;
                }
            }
        }

        return null;
    }

    private static bool Allows(JsonElement schema, string type) => Types(schema).Contains(type);

    private static List<string> Types(JsonElement schema)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            return [];
        }

        return type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array => [.. type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!)],
            _ => [],
        };
    }

    private static string KindOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => value.TryGetInt64(out _) ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        _ => "null",
    };

    private static string Article(string type) => type switch
    {
        "integer" => "an integer",
        "array" => "an array",
        "object" => "an object",
        "null" => "null",
        _ => "a " + type,
    };

    private static CallToolResult Refusal(string message) => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = message }],
    };

    [LoggerMessage(Level = LogLevel.Debug, Message = "MCP tool {Tool} refused a call: {Reason}")]
    private static partial void LogRefused(ILogger logger, string tool, string reason);
}
