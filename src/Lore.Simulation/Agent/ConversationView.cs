using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Lore.Simulation;

/// <summary>A tool call found in a conversation, with its result when one has arrived.</summary>
internal sealed record SeenCall(string CallId, string Name, string? Result);

/// <summary>
/// What the agent can see in the messages it is given: the task (the first user message), every system message's
/// text (where injected lessons arrive, whatever their markup), and the tool calls made so far with their results.
/// </summary>
internal sealed record ConversationView(string? Task, string Instructions, IReadOnlyList<SeenCall> Calls)
{
    public static ConversationView Read(IEnumerable<ChatMessage> messages)
    {
        string? task = null;
        var instructions = new StringBuilder();
        var calls = new List<(string CallId, string Name)>();
        var results = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System)
            {
                instructions.Append(message.Text).Append('\n');
            }
            else if (message.Role == ChatRole.User && task is null && !string.IsNullOrWhiteSpace(message.Text))
            {
                task = message.Text;
            }

            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case FunctionCallContent call:
                        calls.Add((call.CallId, call.Name));
                        break;
                    case FunctionResultContent result:
                        results[result.CallId] = ResultText(result);
                        break;
                }
            }
        }

        var seen = calls.Select(c => new SeenCall(c.CallId, c.Name, results.GetValueOrDefault(c.CallId))).ToList();
        return new ConversationView(task, instructions.ToString(), seen);
    }

    /// <summary>A tool result as text: strings as they are, JSON as JSON, an exception as an error line.</summary>
    internal static string ResultText(FunctionResultContent result)
    {
        if (result.Exception is { } exception)
        {
            return $"Error: {exception.Message}";
        }

        return result.Result switch
        {
            null => "",
            string text => text,
            JsonElement { ValueKind: JsonValueKind.String } element => element.GetString() ?? "",
            JsonElement element => element.GetRawText(),
            var other => other.ToString() ?? "",
        };
    }
}
