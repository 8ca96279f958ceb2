using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>
/// One rule's regular expression, compiled on first use. The content screen first runs every rule joined into one
/// quick check, and most texts match none of them, so most rules' own automata are never needed; building all of
/// them up front (non-backtracking construction) cost seconds of CPU in every process's first learning pass.
/// </summary>
internal sealed class RulePattern(string source, Func<string, Regex> compile)
{
    private readonly Lazy<Regex> _regex = new(() => compile(source), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The pattern text, as joined into the quick check.</summary>
    public string Source { get; } = source;

    /// <summary>The compiled expression (built by the first caller; the same instance for every caller after it).</summary>
    public Regex Regex => _regex.Value;

    public override string ToString() => Source;
}
