using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>
/// Whether any of many rules' patterns may occur in a text: the content screen asks this first, and reads a text rule
/// by rule only when the answer is yes. The answer starts on the backtracking engine, which builds in milliseconds
/// where the non-backtracking engine spends about a second of CPU on the screen's rule tables, but then costs about a
/// millisecond per text. So a process that checks few texts (a one-shot <c>lore learn</c>, a test) never builds the
/// non-backtracking automata, and one that keeps checking builds them on a pool thread once its backtracking checks
/// have cost <see cref="UpgradeAfter"/>, then uses them: never much more than the better of the two would have cost.
/// Either way it passes exactly the texts its patterns match, except that a text that keeps a check busy past
/// <see cref="Timeout"/> counts as a possible match, so a hostile text costs at most that much more and is still
/// judged by the rules themselves.
/// </summary>
internal sealed class QuickCheck
{
    /// <summary>How long one check may run before the text is handed to the rules themselves.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(100);

    private readonly Lazy<Regex?> _backtracking;
    private readonly Func<Regex[]> _upgrade;
    private readonly long _budget;
    private long _spent;
    private Task? _upgrading;
    private Regex[]? _upgraded;

    /// <param name="patterns">The patterns; none makes a check that never matches.</param>
    /// <param name="options">Their options; the engine option is ignored (each engine sets its own).</param>
    /// <param name="upgradeAfter">Backtracking time after which the non-backtracking automata are built (default <see cref="UpgradeAfter"/>).</param>
    /// <param name="timeout">How long one check may run (<see cref="Timeout"/> unless a test needs the exact answer).</param>
    /// <param name="upgrade">Builds the expressions that answer once upgraded; by default the patterns joined on the non-backtracking engine.</param>
    public QuickCheck(IReadOnlyList<string> patterns, RegexOptions options, TimeSpan? upgradeAfter = null, TimeSpan? timeout = null, Func<Regex[]>? upgrade = null)
    {
        var limit = timeout ?? Timeout;
        var plain = options & ~RegexOptions.NonBacktracking;
        var sources = patterns.ToArray();
        _backtracking = new(() => sources.Length == 0 ? null : new Regex(Join(sources), plain, limit), LazyThreadSafetyMode.ExecutionAndPublication);
        _upgrade = upgrade ?? (() => NonBacktracking(sources, plain, limit));
        _budget = (long)Math.Min((upgradeAfter ?? UpgradeAfter).TotalSeconds * Stopwatch.Frequency, long.MaxValue / 2);
    }

    /// <summary>The backtracking time after which a check of the screen's rule tables builds its non-backtracking automata.</summary>
    public static TimeSpan UpgradeAfter { get; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The build of the non-backtracking automata: null until the check has spent its budget.</summary>
    internal Task? Upgrading => Volatile.Read(ref _upgrading);

    /// <summary>True once the check answers from its non-backtracking automata.</summary>
    internal bool IsUpgraded => Volatile.Read(ref _upgraded) is not null;

    /// <summary>False only when no pattern occurs in <paramref name="text"/>.</summary>
    public bool MayMatch(string text)
    {
        if (Volatile.Read(ref _upgraded) is { } upgraded)
        {
            return MatchesAny(upgraded, text);
        }

        if (_backtracking.Value is not { } regex)
        {
            return false;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            return regex.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return true;
        }
        finally
        {
            if (Interlocked.Add(ref _spent, Stopwatch.GetTimestamp() - started) >= _budget && Volatile.Read(ref _upgrading) is null)
            {
                StartUpgrade();
            }
        }
    }

    private void StartUpgrade()
    {
        var upgrading = new Task(() =>
        {
            try
            {
                Volatile.Write(ref _upgraded, _upgrade());
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or RegexParseException)
            {
                // The backtracking check keeps answering; the rules themselves fail the screen as they always did.
            }
        });
        if (Interlocked.CompareExchange(ref _upgrading, upgrading, null) is null)
        {
            upgrading.Start(TaskScheduler.Default);
        }
    }

    private static bool MatchesAny(Regex[] expressions, string text)
    {
        foreach (var expression in expressions)
        {
            try
            {
                if (expression.IsMatch(text))
                {
                    return true;
                }
            }
            catch (RegexMatchTimeoutException)
            {
                return true;
            }
        }

        return false;
    }

    private static string Join(string[] patterns) => patterns.Length == 1 ? patterns[0] : string.Join("|", patterns.Select(p => $"(?:{p})"));

    /// <summary>
    /// The patterns joined into as few non-backtracking alternations as the engine accepts (it bounds automaton size);
    /// a single pattern it refuses runs on the backtracking engine, with the check's timeout.
    /// </summary>
    private static Regex[] NonBacktracking(string[] patterns, RegexOptions options, TimeSpan timeout)
    {
        if (patterns.Length == 0)
        {
            return [];
        }

        try
        {
            return [new Regex(Join(patterns), options | RegexOptions.NonBacktracking, timeout)];
        }
        catch (NotSupportedException)
        {
            if (patterns.Length == 1)
            {
                return [new Regex(patterns[0], options, timeout)];
            }

            var half = patterns.Length / 2;
            return [.. NonBacktracking(patterns[..half], options, timeout), .. NonBacktracking(patterns[half..], options, timeout)];
        }
    }
}
