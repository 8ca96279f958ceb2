using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Lore.Capture;

/// <summary>
/// Turns Microsoft.Extensions.AI messages into Lore's provider-neutral <see cref="TrajectoryMessage"/>s, and gives a
/// message a content fingerprint so that a conversation re-sent on every call is recorded only once.
/// </summary>
internal static class TrajectoryConversion
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>
    /// The message as trajectory messages: one per tool result (a tool message may carry several), otherwise one with
    /// the text and the tool calls requested.
    /// </summary>
    public static IEnumerable<TrajectoryMessage> ToTrajectory(ChatMessage message, Func<string, string?> toolNameOf)
    {
        var results = message.Contents.OfType<FunctionResultContent>().ToArray();
        if (results.Length > 0)
        {
            foreach (var result in results)
            {
                yield return new TrajectoryMessage
                {
                    Role = "tool",
                    Text = ResultText(result),
                    ToolCallId = result.CallId,
                    ToolName = toolNameOf(result.CallId),
                };
            }

            yield break;
        }

        var text = message.Text;
        yield return new TrajectoryMessage
        {
            Role = message.Role.Value,
            Text = string.IsNullOrEmpty(text) ? null : text,
            ToolCalls = [.. message.Contents.OfType<FunctionCallContent>().Select(c => new ToolCallRequest(c.CallId, c.Name, ArgumentsJson(c)))],
        };
    }

    /// <summary>The tool's result as text: strings as they are, anything else as JSON; an exception reads as "Error: ...".</summary>
    public static string? ResultText(FunctionResultContent result)
    {
        switch (result.Result)
        {
            case null:
                return result.Exception is { } ex ? $"Error: {ex.Message}" : null;
            case string s:
                return s;
            case JsonElement { ValueKind: JsonValueKind.String } e:
                return e.GetString();
            case JsonElement e:
                return e.GetRawText();
            default:
                try
                {
                    return JsonSerializer.Serialize(result.Result, AIJsonUtilities.DefaultOptions.GetTypeInfo(result.Result.GetType()));
                }
                catch (NotSupportedException)
                {
                    return result.Result.ToString();
                }
        }
    }

    /// <summary>True when the tool failed: it threw, or its result reads as an error (see <see cref="Step.LooksLikeToolError"/>).</summary>
    public static bool IsFailure(FunctionResultContent result, string? text) => result.Exception is not null || Step.LooksLikeToolError(text);

    /// <summary>The call's arguments as a JSON object text ("{}" when none).</summary>
    public static string ArgumentsJson(FunctionCallContent call)
    {
        if (call.Arguments is null || call.Arguments.Count == 0)
        {
            return "{}";
        }

        try
        {
            return JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)));
        }
        catch (NotSupportedException)
        {
            var plain = call.Arguments.ToDictionary(p => p.Key, p => p.Value?.ToString());
            return JsonSerializer.Serialize(plain, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(Dictionary<string, string?>)));
        }
    }

    /// <summary>
    /// A 64-bit FNV-1a fingerprint of what a message says (role, text, tool calls and results), the same for a message
    /// and for an equal copy of it, so a caller that rebuilds its history still sees old messages recognised.
    /// </summary>
    public static ulong Fingerprint(ChatMessage message)
    {
        var h = Mix(FnvOffset, message.Role.Value);
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case TextContent text:
                    h = Mix(Mix(h, "t"), text.Text);
                    break;
                case FunctionCallContent call:
                    h = Mix(Mix(Mix(h, "c"), call.CallId), call.Name);
                    break;
                case FunctionResultContent result:
                    h = Mix(Mix(Mix(h, "r"), result.CallId), ResultText(result));
                    break;
                default:
                    h = Mix(h, content.GetType().Name);
                    break;
            }
        }

        return h;
    }

    private static ulong Mix(ulong h, string? text)
    {
        foreach (var c in text ?? "")
        {
            h = (h ^ c) * FnvPrime;
        }

        return (h ^ 0xFF) * FnvPrime;
    }
}
