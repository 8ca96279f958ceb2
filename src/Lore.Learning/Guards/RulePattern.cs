using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>
/// One rule's regular expression, compiled on first use. The content screen first runs every rule joined into one
/// <see cref="QuickCheck"/>, and most texts match none of them, so most rules' own automata are never needed; building
/// all of them up front (non-backtracking construction) cost seconds of CPU in every process's first learning pass.
/// </summary>
internal sealed class RulePattern
{
    /// <summary>A rule's own automaton costs a few tens of milliseconds to build: its quick check upgrades to it after that much.</summary>
    private static readonly TimeSpan UpgradeAfter = TimeSpan.FromMilliseconds(25);

    private readonly Lazy<Regex> _regex;
    private readonly QuickCheck _quick;

    /// <param name="source">The pattern text.</param>
    /// <param name="compile">Builds the expression whose matches decide (the non-backtracking engine where it fits).</param>
    /// <param name="options">The options <paramref name="compile"/> uses besides the engine, for the rule's own quick check.</param>
    public RulePattern(string source, Func<string, Regex> compile, RegexOptions options)
    {
        Source = source;
        _regex = new(() => compile(source), LazyThreadSafetyMode.ExecutionAndPublication);
        _quick = new QuickCheck([source], options, UpgradeAfter, upgrade: () => [_regex.Value]);
    }

    /// <summary>The pattern text, as joined into the quick check.</summary>
    public string Source { get; }

    /// <summary>The compiled expression (built by the first caller; the same instance for every caller after it).</summary>
    public Regex Regex => _regex.Value;

    /// <summary>
    /// False only when the pattern certainly does not occur in <paramref name="text"/>, so <see cref="Regex"/> need not
    /// be built for it. Once <see cref="Regex"/> is built this is true: the caller's own match decides, and the text is
    /// read once, not twice.
    /// </summary>
    public bool MayMatch(string text) => _regex.IsValueCreated || _quick.MayMatch(text);

    public override string ToString() => Source;
}
