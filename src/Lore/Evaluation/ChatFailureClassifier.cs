using System.Text;
using Microsoft.Extensions.AI;

namespace Lore;

/// <summary>
/// An <see cref="IFailureClassifier"/> for users who have a model: it shows the model the task, the tool calls (with
/// failed results) and the judges' comments of a failed episode and asks for the kind of failure in a few words. The
/// answer is normalised into the mode like any label, so "Refunded order 4411 without approval" and "refunded order 98
/// without approval" are one mode. Answers "none" (or nothing) fall back to the built-in signature.
/// </summary>
public sealed class ChatFailureClassifier : IFailureClassifier
{
    /// <summary>The longest label kept; a longer answer is cut.</summary>
    public const int MaxLabelLength = 80;

    private const string Instructions =
        "You label why an AI agent's task failed, so failures of the same kind can be counted together. "
        + "Answer with one short lower-case phrase of at most eight words naming the kind of failure (for example "
        + "\"refund issued without approval\" or \"wrong order looked up\"), with no ids, names or numbers, and nothing else. "
        + "Answer \"none\" if the transcript does not show why it failed.";

    private readonly IChatClient _client;
    private readonly int _maxTranscriptCharacters;

    /// <summary>Uses <paramref name="client"/>; at most <paramref name="maxTranscriptCharacters"/> of the transcript are sent (the end of it, where failures are).</summary>
    public ChatFailureClassifier(IChatClient client, int maxTranscriptCharacters = 6_000)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTranscriptCharacters, 200);
        _client = client;
        _maxTranscriptCharacters = maxTranscriptCharacters;
    }

    /// <inheritdoc/>
    public async ValueTask<string?> ClassifyAsync(Episode episode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episode);
        var response = await _client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, Instructions), new ChatMessage(ChatRole.User, Transcript(episode))],
            new ChatOptions { Temperature = 0, MaxOutputTokens = 32 },
            cancellationToken).ConfigureAwait(false);
        var line = (response.Text ?? "").Trim().Split('\n', 2)[0].Trim().Trim('"', '\'', '.', ' ');
        if (line.Length == 0 || line.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return line.Length > MaxLabelLength ? line[..MaxLabelLength] : line;
    }

    /// <summary>The task, the tool calls in order and the judges' comments, keeping the end when it is too long.</summary>
    private string Transcript(Episode episode)
    {
        var text = new StringBuilder();
        text.Append("Task: ").AppendLine(episode.Task);
        foreach (var step in episode.Steps)
        {
            if (step.Kind == StepKind.ToolCall)
            {
                text.Append(step.ToolFailed ? "FAILED tool " : "tool ").Append(step.ToolName).Append(' ').Append(step.ToolArguments)
                    .Append(" -> ").AppendLine(step.ToolResult);
            }
            else if (step.Error is not null)
            {
                text.Append("model call failed: ").AppendLine(step.Error);
            }
        }

        foreach (var outcome in episode.Outcomes.Where(o => !o.IsSuccess))
        {
            text.Append("Judged a failure by the ").Append(outcome.Source).Append(": ").AppendLine(outcome.Reason ?? outcome.Comment ?? outcome.Category ?? "(no comment)");
        }

        var all = text.ToString();
        return all.Length <= _maxTranscriptCharacters ? all : "..." + all[^_maxTranscriptCharacters..];
    }
}
