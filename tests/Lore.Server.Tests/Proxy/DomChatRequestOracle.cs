using System.Text.Json;
using System.Text.Json.Nodes;
using Lore.Server.Proxy;
using Microsoft.Extensions.AI;

namespace Lore.Server.Tests.Proxy;

/// <summary>
/// The DOM reading of a chat-completions request that the proxy used before its one-pass reader
/// (<see cref="ChatRequestBody"/>): kept here only as the oracle the property tests compare that reader with.
/// </summary>
internal static class DomChatRequestOracle
{
    /// <summary>
    /// Checks the parts of a request the proxy relies on (an object with a non-empty <c>messages</c> array of objects
    /// with a string <c>role</c>, a boolean <c>stream</c>, a string <c>user</c>) and reads its messages.
    /// </summary>
    public static List<ChatMessage> ReadRequest(JsonNode? body)
    {
        if (body is not JsonObject request)
        {
            throw new ChatRequestException("$", "the request body must be a JSON object (an OpenAI chat-completions request).");
        }

        if (request["stream"] is { } stream && stream.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
        {
            throw new ChatRequestException("stream", "'stream' must be true or false.");
        }

        if (request["user"] is { } user && user.GetValueKind() is not (JsonValueKind.String or JsonValueKind.Null))
        {
            throw new ChatRequestException("user", "'user' must be a string.");
        }

        return OpenAiChatFormat.ReadMessages(request["messages"]);
    }

    /// <summary>The names of the function and custom tools a request offers, or null when it offers none.</summary>
    public static string[]? ToolNames(JsonObject request)
    {
        if (request["tools"] is not JsonArray tools || tools.Count == 0)
        {
            return null;
        }

        var names = new List<string>(tools.Count);
        foreach (var tool in tools)
        {
            // Function tools name themselves under "function", custom (free-text input) tools under "custom".
            if (OpenAiChatFormat.StringOf(tool?["function"]?["name"]) is { } name)
            {
                names.Add(name);
            }
            else if (OpenAiChatFormat.StringOf(tool?["custom"]?["name"]) is { } custom)
            {
                names.Add(custom);
            }
        }

        return [.. names];
    }
}
