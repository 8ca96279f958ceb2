using Lore.Learning.Text;
using Lore.Learning;

namespace Lore;

/// <summary>
/// Turns a failed episode into its failure mode: a short, normalised signature that episodes failing the same way share,
/// so evaluation can say whether a change removed errors or moved them. In order of precedence: a classifier's label
/// (<c>label: ...</c>; given when the episode is judged and stored with the outcome, <see cref="Outcome.FailureMode"/>), the judge's outcome category (<c>category: ...</c>) or reason (<c>reason: ...</c>), the last
/// tool that failed and its normalised error (<c>tool NAME: ...</c>), a model call that got no answer
/// (<c>model error: ...</c>), the last state-changing call after which the episode failed (<c>after NAME</c>), and
/// otherwise <c>no tool error</c>. Texts are normalised the way tool errors are for learning (ids, numbers, dates and
/// quoted values replaced), so "order 1234 not found" and "order 98 not found" are one mode.
/// </summary>
public static class FailureModes
{
    /// <summary>The mode of a failed episode with no evidence of why.</summary>
    public const string NoToolError = "no tool error";


    private const int MaxToolNameLength = 64;

    /// <summary>The episode's failure mode, or null when it has not been judged or succeeded.</summary>
    public static string? Of(Episode episode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        return episode.Succeeded is false ? IfFailed(episode) : null;
    }

    /// <summary>
    /// The mode the episode has if it failed, or will have should a later judgement say it failed: the judges' category
    /// or reason when one named it, else what its steps say.
    /// </summary>
    public static string IfFailed(Episode episode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        if (FromOutcomes(episode.Outcomes) is { } judged)
        {
            return judged;
        }

        var trace = new FailureTrace();
        foreach (var step in episode.Steps)
        {
            trace.Observe(step);
        }

        return trace.Mode;
    }

    /// <summary>
    /// The episode's failure mode with <paramref name="classifier"/> asked first (its label wins when it gives one);
    /// null when the episode has not been judged or succeeded. Without a classifier it is <see cref="Of(Episode)"/>.
    /// </summary>
    public static async ValueTask<string?> OfAsync(Episode episode, IFailureClassifier? classifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episode);
        if (episode.Succeeded is not false)
        {
            return null;
        }

        if (classifier is not null && await classifier.ClassifyAsync(episode, cancellationToken).ConfigureAwait(false) is { } label && !string.IsNullOrWhiteSpace(label))
        {
            return Label(label);
        }

        return Of(episode);
    }

    /// <summary>
    /// The mode the episode was judged with, latest judgement first: the mode a classifier gave it when an outcome was
    /// recorded (<see cref="Outcome.FailureMode"/>), else a failing outcome's category, else its reason; null when none
    /// named one.
    /// </summary>
    internal static string? FromOutcomes(IReadOnlyList<Outcome> outcomes)
    {
        for (var i = outcomes.Count - 1; i >= 0; i--)
        {
            var outcome = outcomes[i];
            if (!string.IsNullOrWhiteSpace(outcome.FailureMode))
            {
                return outcome.FailureMode;
            }

            if (outcome.IsSuccess)
            {
                continue;
            }

            if (!string.IsNullOrWhiteSpace(outcome.Category))
            {
                return "category: " + Text(outcome.Category);
            }

            if (!string.IsNullOrWhiteSpace(outcome.Reason))
            {
                return "reason: " + Text(outcome.Reason);
            }
        }

        return null;
    }

    /// <summary>A classifier's label as a mode.</summary>
    internal static string Label(string label) => "label: " + Text(label);

    /// <summary>A judge's or classifier's text as a mode shows it: normalised like a tool error, with '_' read as a space ("wrong_refund" is "wrong refund").</summary>
    internal static string Text(string text) => ErrorNormalizer.Normalize(text.Replace('_', ' '));

    /// <summary>A tool name as a mode shows it: trimmed, lower case, at most 64 characters.</summary>
    internal static string ToolName(string? name)
    {
        var trimmed = string.IsNullOrWhiteSpace(name) ? "unnamed" : name.Trim().ToLowerInvariant();
        return trimmed.Length > MaxToolNameLength ? trimmed[..MaxToolNameLength] : trimmed;
    }
}

/// <summary>
/// What the steps of one episode say about how it could have failed, kept as the steps go by (an episode being captured
/// does not keep its steps in memory): the last failed tool, the last model call without an answer and the last
/// state-changing call. Not thread-safe.
/// </summary>
internal sealed class FailureTrace
{
    private string? _failedTool;
    private string? _modelError;
    private string? _lastStateChange;

    /// <summary>Takes one step into account.</summary>
    public void Observe(Step step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.Kind == StepKind.ToolCall)
        {
            var tool = FailureModes.ToolName(step.ToolName);
            if (step.ToolFailed)
            {
                _failedTool = $"tool {tool}: {ErrorNormalizer.Normalize(step.ToolResult)}";
            }
            else if (ToolCatalog.Infer(step.ToolName ?? "") >= ToolEffect.StateChanging)
            {
                _lastStateChange = "after " + tool;
            }
        }
        else if (step.Error is not null)
        {
            _modelError = "model error: " + ErrorNormalizer.Normalize(step.Error);
        }
    }

    /// <summary>The mode the steps give a failed episode whose judges named none.</summary>
    public string Mode => _failedTool ?? _modelError ?? _lastStateChange ?? FailureModes.NoToolError;
}
