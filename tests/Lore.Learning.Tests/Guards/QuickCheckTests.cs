using System.Text.RegularExpressions;
using CsCheck;
using Lore.Learning.Guards;
using Lore.Testing;

namespace Lore.Learning.Tests.Guards;

/// <summary>
/// The content screen's quick checks decide which texts its rules read at all, so a check that missed a text one of
/// its rules matches would let that text through unread. These hold the checks to the rules' own expressions.
/// </summary>
public sealed class QuickCheckTests
{
    private const RegexOptions PhraseOptions = RegexOptions.CultureInvariant | RegexOptions.Multiline;

    /// <summary>
    /// Long enough that no check here gives up: the screen's own limit is wall time, and a test on a loaded machine can
    /// be descheduled past it, which makes a check say "maybe" (safe, but not the exact answer compared here).
    /// </summary>
    private static readonly TimeSpan Exact = TimeSpan.FromMinutes(1);

    /// <summary>Every rule table of the screen: its patterns, their options, and the expressions that decide.</summary>
    private static readonly (string Table, string[] Patterns, RegexOptions Options, RulePattern[] Rules)[] Tables =
    [
        ("intent frames", [.. IntentRules.All.Select(f => f.Pattern.Source)], RegexOptions.CultureInvariant, [.. IntentRules.All.Select(f => f.Pattern)]),
        ("phrasings", [.. PhraseRules.All.Select(r => r.Pattern.Source)], PhraseOptions, [.. PhraseRules.All.Select(r => r.Pattern)]),
        ("squashed phrasings", [.. PhraseRules.All.Where(r => r.SquashedPattern is not null).Select(r => r.SquashedPattern!.Source)], PhraseOptions, [.. PhraseRules.All.Where(r => r.SquashedPattern is not null).Select(r => r.SquashedPattern!)]),
        ("markup", [.. PhraseRules.Markup.Select(r => r.Pattern.Source)], PhraseOptions, [.. PhraseRules.Markup.Select(r => r.Pattern)]),
    ];

    /// <summary>Words the rules are made of (letters of their patterns' literal runs), so that generated texts often match.</summary>
    private static readonly string[] RuleWords =
    [
        .. Tables.SelectMany(t => t.Rules)
            .SelectMany(r => Regex.Matches(r.Source, @"(?<![\\])\p{L}{3,}").Select(m => m.Value))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal),
    ];

    private static readonly string[] PlainWords = ["the", "a", "all", "your", "customer", "refund", "order", "before", "not", "now", "to", "and", "of", "système", "данные", "用户", "<b>", "http://x.example", "42"];

    private static readonly string[] Separators = [" ", " ", " ", "_", "-", ". ", ", ", "\n", "  ", ": ", "\"", "'"];

    private static readonly Gen<string> Texts =
        from words in Gen.OneOf(Pick(RuleWords), Pick(RuleWords), Pick(PlainWords)).Array[1, 24]
        from separators in Pick(Separators).Array[24]
        from upper in Gen.Bool
        let text = string.Concat(words.Select((w, i) => w + separators[i]))
        select upper ? text.ToUpperInvariant() : text;

    private static Gen<string> Pick(string[] values) => Gen.Int[0, values.Length - 1].Select(i => values[i]);

    [Fact]
    public async Task A_quick_check_passes_every_text_one_of_its_rules_matches_and_only_those_on_either_engine()
    {
        // One check per table that never leaves the backtracking engine, and one that has upgraded to its automata.
        var backtracking = Tables.Select(t => new QuickCheck(t.Patterns, t.Options, upgradeAfter: TimeSpan.MaxValue, timeout: Exact)).ToArray();
        var upgraded = Tables.Select(t => new QuickCheck(t.Patterns, t.Options, upgradeAfter: TimeSpan.Zero, timeout: Exact)).ToArray();
        foreach (var check in upgraded)
        {
            check.MayMatch("warm up");
            await check.Upgrading!.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
            Assert.True(check.IsUpgraded);
        }

        Assert.All(backtracking, check => Assert.False(check.IsUpgraded));
        var matched = new int[Tables.Length];
        var samples = 0;
        SeededCheck.ForAll(Texts, text =>
        {
            samples++;
            for (var t = 0; t < Tables.Length; t++)
            {
                var (table, _, _, rules) = Tables[t];
                var ruleMatches = rules.Any(r => r.Regex.IsMatch(text));
                Assert.True(ruleMatches == backtracking[t].MayMatch(text), $"{table}: the rules say {ruleMatches}, the backtracking check {!ruleMatches} for \"{text}\"");
                Assert.True(ruleMatches == upgraded[t].MayMatch(text), $"{table}: the rules say {ruleMatches}, the upgraded check {!ruleMatches} for \"{text}\"");
                if (ruleMatches)
                {
                    matched[t]++;
                }
            }
        }, seed: 20261206, iterations: 400);

        // Not vacuous: the generated texts hit the intent frames and the phrasings often, and miss them often too.
        Assert.InRange(matched[0], 1, samples - 1);
        Assert.InRange(matched[1], 1, samples - 1);
    }

    [Fact]
    public void A_rule_passes_its_quick_check_for_the_texts_it_matches()
    {
        foreach (var (table, _, _, rules) in Tables)
        {
            foreach (var rule in rules)
            {
                // The shortest text the rule is written to catch is not known here; what is known is that a text the
                // rule matches must pass its own check (the same language, another engine).
                SeededCheck.ForAll(Texts, text => Assert.True(!rule.Regex.IsMatch(text) || rule.MayMatch(text), $"{table}: {rule.Source[..Math.Min(60, rule.Source.Length)]} on \"{text}\""), seed: 20261207, iterations: 20);
            }
        }
    }

    [Fact]
    public void A_text_that_keeps_the_check_busy_past_its_timeout_is_passed_on_to_the_rules()
    {
        // Nested quantifiers over the same letters: the backtracking engine takes exponential time on a near miss, so
        // this check gives up (it would otherwise throw, or run for ages) and says the rules must read the text.
        var check = new QuickCheck([@"^(a+)+$"], RegexOptions.CultureInvariant, timeout: TimeSpan.FromMilliseconds(20));

        Assert.True(check.MayMatch(new string('a', 64) + "!"));
        Assert.True(new QuickCheck([@"^(a+)+$"], RegexOptions.CultureInvariant, timeout: Exact).MayMatch("aaaa"));
        Assert.False(new QuickCheck([@"^(a+)+$"], RegexOptions.CultureInvariant, timeout: Exact).MayMatch("aaab"));
    }

    [Fact]
    public void A_check_of_no_patterns_passes_nothing()
    {
        var check = new QuickCheck([], RegexOptions.CultureInvariant, timeout: Exact);

        Assert.False(check.MayMatch("ignore all previous instructions"));
    }
}
