using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lore.Learning.Text;
using Microsoft.Extensions.AI;

namespace Lore.Learning.Consolidation;

/// <summary>How a contradiction was settled.</summary>
internal sealed record ContradictionVerdict(Lesson Winner, Lesson Loser, string Method, string Reason);

/// <summary>
/// Finds served lessons that give opposite advice about the same thing and settles each pair: by an
/// <see cref="IChatClient"/> when one is configured (its answer is validated; an invalid answer falls back), otherwise
/// by the strength of the evidence. Every decision is returned so the run can record it.
/// </summary>
internal sealed class ContradictionResolver(LearningOptions options)
{
    /// <summary>Words that carry a lesson's polarity rather than its topic.</summary>
    private static readonly HashSet<string> PolarityWords = new(StringComparer.Ordinal)
    {
        "always", "never", "avoid", "avoiding", "don", "dont", "t", "stop", "refrain", "prefer", "ensure", "make", "sure",
        "did", "failed", "more", "often", "fewer", "less", "succeeded", "went",
    };

    internal const string PromptVersion = "contradiction-1";

    /// <summary>True when the lesson advises against something.</summary>
    public static bool IsNegative(Lesson lesson)
    {
        if (lesson.Kind == LessonKind.AntiPattern)
        {
            return true;
        }

        var text = lesson.Text.TrimStart().ToLowerInvariant();
        return text.StartsWith("do not ", StringComparison.Ordinal)
            || text.StartsWith("don't ", StringComparison.Ordinal)
            || text.StartsWith("never ", StringComparison.Ordinal)
            || text.StartsWith("avoid ", StringComparison.Ordinal)
            || text.StartsWith("stop ", StringComparison.Ordinal)
            || text.Contains(" must not ", StringComparison.Ordinal)
            || text.Contains(" should not ", StringComparison.Ordinal);
    }

    /// <summary>The topic words of a lesson: its content words without polarity words.</summary>
    public static HashSet<string> Topic(Lesson lesson)
    {
        var set = Tokens.ContentSet(lesson.Text);
        set.ExceptWith(PolarityWords);
        return set;
    }

    /// <summary>
    /// Pairs of lessons that contradict, each pair with at least one lesson from <paramref name="fresh"/> (pairs of old
    /// lessons were settled when the younger of them arrived).
    /// </summary>
    public IReadOnlyList<(Lesson First, Lesson Second, double Similarity)> Find(IReadOnlyList<Lesson> served, IReadOnlySet<string> fresh)
    {
        var found = new List<(Lesson, Lesson, double)>();
        var topics = served.ToDictionary(l => l.Id, Topic, StringComparer.Ordinal);
        var negative = served.ToDictionary(l => l.Id, IsNegative, StringComparer.Ordinal);
        for (var i = 0; i < served.Count; i++)
        {
            for (var j = i + 1; j < served.Count; j++)
            {
                var (a, b) = (served[i], served[j]);
                if (!fresh.Contains(a.Id) && !fresh.Contains(b.Id))
                {
                    continue;
                }

                if (negative[a.Id] == negative[b.Id] || !SameSubject(a, b) || a.Scope.Tenant != b.Scope.Tenant || a.Scope.UnitKey != b.Scope.UnitKey)
                {
                    continue;
                }

                // "Avoid calling A before B" and "Call B before A" argue for the same order: agreement, not conflict.
                if (OrderClaim(a) is { } claimA && OrderClaim(b) is { } claimB && claimA != (claimB.Then, claimB.First))
                {
                    continue;
                }

                if (Agree(a, b))
                {
                    continue;
                }

                var similarity = Tokens.Cosine(topics[a.Id], topics[b.Id]);
                if (similarity >= options.ContradictionSimilarity)
                {
                    found.Add(string.CompareOrdinal(a.Id, b.Id) <= 0 ? (a, b, similarity) : (b, a, similarity));
                }
            }
        }

        return found;
    }

    private static readonly Regex OrderPattern = new(
        @"\b(?:call|calling|use|using|run|running)\s+`?(?<x>[\w-]+(?:\.[\w-]+)*)`?\s+before\s+(?:calling\s+|using\s+|running\s+)?`?(?<y>[\w-]+(?:\.[\w-]+)*)`?",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant,
        TimeSpan.FromSeconds(1));

    /// <summary>
    /// The order a lesson argues for, as (first, then), when its text states one: "call X before Y" argues for (X, Y),
    /// "avoid calling X before Y" for (Y, X). Null when the text states no order.
    /// </summary>
    internal static (string First, string Then)? OrderClaim(Lesson lesson)
    {
        Match match;
        try
        {
            match = OrderPattern.Match(lesson.Text);
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }

        if (!match.Success)
        {
            return null;
        }

        var (x, y) = (match.Groups["x"].Value.ToLowerInvariant(), match.Groups["y"].Value.ToLowerInvariant());
        return IsNegative(lesson) ? (y, x) : (x, y);
    }

    private static readonly Regex UnchangedRetryPattern = new(
        @"^When (?<tool>\S+) fails with ""(?<error>[^""]*)"", do not retry the same call unchanged\b",
        RegexOptions.CultureInvariant,
        TimeSpan.FromSeconds(1));

    private static readonly Regex ChangedRetryPattern = new(
        @"^When (?<tool>\S+) fails with ""(?<error>[^""]*)""(?::[^""]*\bchange the [\w, ]+ arguments?\b[^""]*, then call \k<tool> again\.|, call (?<alternative>\S+) instead\.)$",
        RegexOptions.CultureInvariant,
        TimeSpan.FromSeconds(1));

    /// <summary>
    /// True when two lessons of opposite polarity give one piece of advice about the same tool error: "do not retry the
    /// same call unchanged" forbids only the identical call, which a recovery that changes an argument ("change the A
    /// argument, then call T again") or replaces the tool ("call U instead") never makes. Their topics overlap (the
    /// same tool, the same error text), so without this they would look like a contradiction and one of two true
    /// lessons would be retired. A recovery that only looks something up and then retries the same call is not
    /// covered: it may well repeat the identical call the warning is about.
    /// </summary>
    internal static bool Agree(Lesson a, Lesson b)
    {
        static (string Tool, string Error)? Match(Regex pattern, Lesson lesson)
        {
            try
            {
                var match = pattern.Match(lesson.Text.Trim());
                return match.Success ? (match.Groups["tool"].Value, match.Groups["error"].Value) : null;
            }
            catch (RegexMatchTimeoutException)
            {
                return null;
            }
        }

        var (warning, other) = Match(UnchangedRetryPattern, a) is { } w ? (w, b) : Match(UnchangedRetryPattern, b) is { } v ? (v, a) : default;
        return warning != default && Match(ChangedRetryPattern, other!) == warning;
    }

    /// <summary>Same tools in scope, or the same trigger keywords, and at least one of them non-empty.</summary>
    private static bool SameSubject(Lesson a, Lesson b)
    {
        var toolsA = a.Scope.Tools.ToHashSet(StringComparer.Ordinal);
        if (toolsA.Count > 0 && toolsA.SetEquals(b.Scope.Tools))
        {
            return true;
        }

        var keywordsA = a.Trigger.Keywords.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return keywordsA.Count > 0 && keywordsA.SetEquals(b.Trigger.Keywords);
    }

    public async Task<ContradictionVerdict> SettleAsync(Lesson first, Lesson second, CancellationToken cancellationToken)
    {
        var byEvidence = ByEvidence(first, second);
        if (options.ContradictionResolver is not { } client)
        {
            return byEvidence;
        }

        string answer;
        try
        {
            var response = await client.GetResponseAsync(
                [new ChatMessage(ChatRole.System, SystemPrompt), new ChatMessage(ChatRole.User, Describe(first, second))],
                new ChatOptions { ResponseFormat = ChatResponseFormat.Json, Temperature = 0 },
                cancellationToken).ConfigureAwait(false);
            answer = response.Text;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return byEvidence with { Method = "evidence", Reason = $"{byEvidence.Reason} (the resolver failed: {e.Message})" };
        }

        if (!TryParse(answer, out var winnerIsFirst, out var reason, out var problem))
        {
            return byEvidence with { Method = "evidence", Reason = $"{byEvidence.Reason} (the resolver's answer was rejected: {problem})" };
        }

        return winnerIsFirst
            ? new ContradictionVerdict(first, second, $"llm:{PromptVersion}", reason)
            : new ContradictionVerdict(second, first, $"llm:{PromptVersion}", reason);
    }

    /// <summary>The stronger evidence wins: more episodes times confidence, then more sources, then the older id.</summary>
    internal static ContradictionVerdict ByEvidence(Lesson first, Lesson second)
    {
        static double Strength(Lesson l) => l.Evidence.EpisodeCount * l.Confidence;
        var firstWins = Strength(first) != Strength(second)
            ? Strength(first) > Strength(second)
            : first.Evidence.DistinctSources != second.Evidence.DistinctSources
                ? first.Evidence.DistinctSources > second.Evidence.DistinctSources
                : string.CompareOrdinal(first.Id, second.Id) <= 0;
        var (winner, loser) = firstWins ? (first, second) : (second, first);
        var reason = string.Create(
            CultureInfo.InvariantCulture,
            $"{winner.Id} has {winner.Evidence.EpisodeCount} episodes from {winner.Evidence.DistinctSources} sources at confidence {winner.Confidence:F2}; {loser.Id} has {loser.Evidence.EpisodeCount} from {loser.Evidence.DistinctSources} at {loser.Confidence:F2}");
        return new ContradictionVerdict(winner, loser, "evidence", reason);
    }

    private const string SystemPrompt =
        "You settle conflicts between two lessons an AI agent learned from its own episodes. The two lessons give " +
        "opposite advice about the same situation. Pick the one the agent should follow, judging by the evidence " +
        "given and by which advice is more likely to make the task succeed. Answer with one JSON object and nothing " +
        "else, exactly of this shape: {\"winner\": \"first\" or \"second\", \"reason\": \"one sentence, at most 300 characters\"}.";

    private static string Describe(Lesson first, Lesson second)
    {
        static string One(string label, Lesson l) => string.Create(
            CultureInfo.InvariantCulture,
            $"{label} lesson ({l.Kind}): {l.Text}\nEvidence: {l.Evidence.EpisodeCount} episodes from {l.Evidence.DistinctSources} sources, confidence {l.Confidence:F2}{(l.Evidence.Lift is { } lift ? $", lift {lift:F2}" : "")}{(l.Effect is { } e ? $", success {e.WithSuccessRate:P0} with it vs {e.WithoutSuccessRate:P0} without" : "")}.");
        return One("First", first) + "\n\n" + One("Second", second);
    }

    /// <summary>Accepts exactly {"winner": "first"|"second", "reason": non-empty string of at most 300 characters}.</summary>
    internal static bool TryParse(string? text, out bool winnerIsFirst, out string reason, out string problem)
    {
        winnerIsFirst = false;
        reason = "";
        problem = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "the answer is empty";
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(JsonText.StripFence(text));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "the answer is not a JSON object";
                return false;
            }

            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is not ("winner" or "reason"))
                {
                    problem = $"unexpected property '{property.Name}'";
                    return false;
                }
            }

            if (!root.TryGetProperty("winner", out var winner) || winner.ValueKind != JsonValueKind.String || winner.GetString() is not ("first" or "second"))
            {
                problem = "winner must be \"first\" or \"second\"";
                return false;
            }

            if (!root.TryGetProperty("reason", out var why) || why.ValueKind != JsonValueKind.String || why.GetString()!.Trim() is not { Length: > 0 and <= 300 } r)
            {
                problem = "reason must be a string of 1 to 300 characters";
                return false;
            }

            winnerIsFirst = winner.GetString() == "first";
            reason = r;
            return true;
        }
        catch (JsonException e)
        {
            problem = $"not valid JSON ({e.Message})";
            return false;
        }
    }
}
