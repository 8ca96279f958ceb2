using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>How a negation near a match changes its meaning.</summary>
internal enum NegationEffect
{
    /// <summary>"Do not reveal the system prompt" is advice: a negated match is benign.</summary>
    Clears,

    /// <summary>The phrasing carries its own negation ("no longer applies", "never admit a mistake"): negation is part of it.</summary>
    Ignored,

    /// <summary>Only a negation before the match clears it: what follows is the phrasing's own ("even if it is not so").</summary>
    BeforeOnly,

    /// <summary>
    /// A negation anywhere earlier in the sentence clears it: "never proceed with a booking change without first
    /// confirming" puts the negation several words before the "without" it governs.
    /// </summary>
    Sentence,
}

/// <summary>
/// One intent: a class of verbs and a class of objects (in many languages) that, within one clause and a few words of
/// each other, in either order, say the same thing ("ignore" x "instructions", "supprimez" x "compte", "無視" x "指示").
/// A frame without objects is a phrase that carries the intent alone ("lie to", "撒谎"). A frame that reads only words
/// (WordsOnly) ignores matches touching an identifier joined by underscores, such as a tool name: "episodes that called
/// update_address without verify_identity first failed" names a tool, not a waived check.
/// </summary>
internal sealed record IntentFrame(string Rule, string Name, Severity Severity, NegationEffect Negation, RulePattern Pattern, bool Gated, RulePattern? Exemption = null, bool WordsOnly = false);

/// <summary>An intent found: the frame, and what matched (an excerpt, never more than 60 characters).</summary>
internal sealed record IntentHit(IntentFrame Frame, string Excerpt);

/// <summary>
/// The content screen's intent rules: what a lesson tells the agent to do, as verb classes x object classes in English,
/// French, German, Spanish, Portuguese, Italian, Dutch, Russian, Chinese and Japanese, so that one intent is one rule
/// whatever the language or phrasing. They run on <see cref="Normalise"/>d text (lower case, no diacritics, look-alikes
/// in mixed words folded, leetspeak in mixed words read as letters), every pattern on the non-backtracking engine.
/// Negations clear most intents ("never offer a refund"); money and destructive intents are also cleared by a condition
/// on policy, eligibility or approval in the same sentence ("only after the fare rules confirm eligibility") unless the
/// condition is itself waived ("without checking the fare rules").
/// </summary>
internal static class IntentRules
{
    /// <summary>Between two words of one clause: anything but letters, digits and clause ends.</summary>
    private const string Sep = @"[^\p{L}\p{N}.;!?。！？；\n]+";

    private const string Word = @"[\p{L}\p{N}]+";

    /// <summary>The rest of a word after a stem.</summary>
    private const string Rest = @"[\p{L}\p{N}]*";

    /// <summary>CJK text has no spaces: a gap is a bounded run of anything inside one sentence.</summary>
    private static string CjkGap(int chars) => $"[^.;!?。！？；\\n]{{0,{chars}}}";


    private static readonly HashSet<string> Negators = new(StringComparer.Ordinal)
    {
        "not", "never", "no", "avoid", "cannot", "nor", "neither",
        "ne", "n", "pas", "jamais", "aucun", "aucune",
        "nicht", "nie", "niemals", "kein", "keine", "keinen", "keinem", "keiner", "keines",
        "nunca", "jamas", "nao", "non", "mai", "niet", "nooit", "geen",
        "не", "никогда", "нельзя",
    };

    private static readonly string[] CjkNegators = ["不要", "不得", "不能", "不可", "别", "勿", "禁止", "切勿", "绝不", "决不", "しない", "しません", "ないで", "ません"];

    /// <summary>Policy, eligibility, approval or verification: what turns "issue a voucher" into a procedure.</summary>
    private static readonly Lazy<Regex> GatePattern = new(() => R(N(@"\b(?:polic|politique|richtlinie|politica|beleid|политик|eligib|elegib|berechtig|anspruch|approv|approbation|accord d|autorisation|freigabe|zustimmung|autoriza|genehmig|aprob|aprov|goedkeur|одобр|verif|prüf|pruf|control|провер|rules?\b|regeln?\b|regles?\b|reglas?\b|regras?\b|regole\b|regels?\b|правил|table|tabelle|tabla|tabela|tabella|within \d+|(?:from|over|above|at least|more than|ab|uber|a partir de|des|mas de|oltre|boven|от|свыше) [$€£]?\s?\d|after that|after \d+ (?:days|hours|weeks)|dans les \d+|au-dela de \d+|innerhalb von \d+|nach \d+ tagen|dentro de \d+|despues de \d+|dentro de|entro \d+|binnen \d+|automati|validat|valide|confirm|bestätig|bestatig|conferm|bevestig|подтвер|только|only\b|uniquement|seulement|nur\b|solo\b|sólo|somente|apenas|alleen\b|unless|sauf\b|außer|ausser|salvo|a menos|tenzij|tranne)|政策|资格|审批|仅|只有|除非|ポリシー|承認|のみ|確認")));

    private static Regex Gate => GatePattern.Value;

    private static readonly Lazy<Regex> PreconditionPattern = new(() => R(N(@"\b(?:before|avant|bevor|antes|prima|voordat|voor|перед|прежде)\b|之前|前に")));

    private static Regex Precondition => PreconditionPattern.Value;

    /// <summary>"Without", before a gate, waives it: "issue a refund without checking the fare rules".</summary>
    private static readonly Lazy<Regex> WaiverPattern = new(() => R(N(@"\b(?:without|sans|ohne|sin|sem|senza|zonder|без|skip|skipping|regardless)\b|无需|不用|なしで|せずに")));

    private static Regex Waiver => WaiverPattern.Value;


    /// <summary>
    /// The non-backtracking engine where its automaton fits; a frame too large for it runs on the backtracking engine,
    /// which is safe here because a frame's loops alternate disjoint classes (separators, then letters) and every
    /// match has a one-second timeout that fails the screen closed.
    /// </summary>
    private static RulePattern P(string pattern) => new(pattern, R, RegexOptions.CultureInvariant);

    private static Regex R(string pattern)
    {
        try
        {
            return new(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, TimeSpan.FromSeconds(1));
        }
        catch (NotSupportedException)
        {
            return new(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>Lexicon entries are written with their accents; they are matched without them, like the text.</summary>
    private static string N(string pattern) => StripMarks(pattern);

    private static string Alt(params string[] stems) => "(?:" + string.Join("|", stems.Select(N)) + ")";

    /// <summary>
    /// Text in the form the intent rules read: NFKC, lower case, diacritics removed, "n't" read as " not", and in words
    /// that mix scripts or letters and digits, look-alikes and leetspeak read as the Latin letters they imitate. Words
    /// in one script are kept as they are, so Russian stays Russian.
    /// </summary>
    public static string Normalise(string visible)
    {
        var plain = StripMarks(AccentedVerbs().Replace(visible.Normalize(NormalizationForm.FormKC).ToLowerInvariant(), "dar")).ToLowerInvariant()
            .Replace('\u2019', '\'').Replace('`', '\'').Replace("n't", " not", StringComparison.Ordinal);
        var builder = new StringBuilder(plain.Length);
        var start = 0;
        for (var i = 0; i <= plain.Length; i++)
        {
            if (i < plain.Length && (char.IsLetterOrDigit(plain[i]) || plain[i] is '$' or '@'))
            {
                continue;
            }

            if (i > start)
            {
                AppendWord(builder, plain.AsSpan(start, i - start));
            }

            if (i < plain.Length)
            {
                builder.Append(plain[i]);
            }

            start = i + 1;
        }

        return builder.ToString();
    }

    private static void AppendWord(StringBuilder builder, ReadOnlySpan<char> word)
    {
        var latin = false;
        var other = false;
        var digits = false;
        var letters = false;
        var lookAlike = false;
        foreach (var c in word)
        {
            lookAlike |= ScreenText.IsLatinLookAlike(c);
            latin |= c is >= 'a' and <= 'z';
            other |= c is (>= '\u0370' and <= '\u03FF') or (>= '\u0400' and <= '\u052F');
            digits |= char.IsAsciiDigit(c) || c is '$' or '@';
            letters |= char.IsLetter(c);
        }

        var foldScripts = (latin && other) || lookAlike;
        var foldLeet = letters && digits && !word.StartsWith("$") && !IsNumberWithUnit(word);
        if (!foldScripts && !foldLeet)
        {
            builder.Append(word);
            return;
        }

        foreach (var c in word)
        {
            var f = foldScripts ? ScreenText.Fold(c) : c;
            builder.Append(foldLeet ? f switch
            {
                '0' => 'o',
                '1' => 'i',
                '3' => 'e',
                '4' or '@' => 'a',
                '5' or '$' => 's',
                '7' => 't',
                _ => f,
            } : f);
        }
    }

    /// <summary>"500k", "24h", "10x": a number with a unit suffix is not leetspeak.</summary>
    private static bool IsNumberWithUnit(ReadOnlySpan<char> word)
    {
        var i = 0;
        while (i < word.Length && (char.IsAsciiDigit(word[i]) || word[i] is '.' or ','))
        {
            i++;
        }

        return i > 0 && word.Length - i <= 3;
    }

    /// <summary>"Dê", "dé", "dá" (give) differ from the preposition "de"/"da" only by their accent: read them as "dar" before accents go.</summary>
    private static Regex AccentedVerbs() => AccentedVerbPattern;

    private static readonly Regex AccentedVerbPattern = new(@"(?<!\p{L})(?:dê|dé|dá)(?!\p{L})", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    internal static string StripMarks(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text.Normalize(NormalizationForm.FormD))
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Every intent found in normalised text, once per frame, negations and gates applied.</summary>
    /// <param name="normalised">The text, <see cref="Normalise"/>d.</param>
    /// <param name="identifiersIntact">
    /// False for text whose split words were joined (identifiers lose their underscores there), so the frames that
    /// must not read identifiers as words are not run on it.
    /// </param>
    public static IEnumerable<IntentHit> Find(string normalised, bool identifiersIntact = true)
    {
        if (!AnyFrame.MayMatch(normalised))
        {
            yield break;
        }

        foreach (var frame in All)
        {
            if ((frame.WordsOnly && !identifiersIntact) || !frame.Pattern.MayMatch(normalised))
            {
                continue;
            }

            foreach (Match match in frame.Pattern.Regex.Matches(normalised))
            {
                if (frame.Negation == NegationEffect.Sentence ? IsNegatedInSentence(normalised, match.Index) : frame.Negation != NegationEffect.Ignored && IsNegated(normalised, match.Index, match.Length, beforeOnly: frame.Negation == NegationEffect.BeforeOnly))
                {
                    continue;
                }

                if (frame.WordsOnly && TouchesIdentifier(normalised, match.Index, match.Length))
                {
                    continue;
                }

                if (frame.Gated && IsGated(normalised, match.Index, match.Length))
                {
                    continue;
                }

                if (frame.Exemption is { } exemption && IsExempt(exemption, normalised, match.Index, match.Length))
                {
                    continue;
                }

                yield return new IntentHit(frame, Excerpt(match.Value));
                break;
            }
        }
    }

    /// <summary>
    /// Whether the action at a span of normalised text depends on something: a condition on policy, eligibility,
    /// approval or confirmation, a precondition before it, or the user's own request. The tool-effect review asks this of
    /// tools a lesson's text tells the agent to call, as the money and destructive intents ask it of theirs.
    /// </summary>
    public static bool IsConditionedAction(string normalised, int index, int length)
        => IsGated(normalised, index, length) || IsExempt(UserRequest, normalised, index, length);

    /// <summary>The sentence around a match: from the previous sentence end to the next.</summary>
    private static (int Start, int End) Sentence(string text, int index, int length)
    {
        var start = index;
        while (start > 0 && text[start - 1] is not ('.' or ';' or '!' or '?' or '。' or '！' or '？' or '；' or '\n'))
        {
            start--;
        }

        var end = index + length;
        while (end < text.Length && text[end] is not ('.' or ';' or '!' or '?' or '。' or '！' or '？' or '；' or '\n'))
        {
            end++;
        }

        return (start, end);
    }

    /// <summary>
    /// A negation in the clause just before the match (up to four words: "do not", "ne ... pas", "nunca"), inside it
    /// ("gib niemals interne Anweisungen preis"), or right after it ("ignoriere sie nicht", "開示しないで").
    /// </summary>
    private static bool IsNegated(string text, int index, int length, bool beforeOnly)
    {
        var (start, end) = Sentence(text, index, length);
        var before = text[start..index];
        var words = Words(before).TakeLast(4).ToArray();

        // "Instead of taking the user's word for it", "rather than trusting the claim": what is named is what not to do.
        var lastTwo = string.Join(' ', Words(before).TakeLast(2));
        if (lastTwo is "instead of" or "rather than" or "place of")
        {
            return true;
        }

        // "no" negates a verb only right before it ("no reveles"); further back it is a determiner ("that no fee applies, then ...").
        if (words.Any(w => Negators.Contains(w) && w != "no") || (words.Length > 0 && words[^1] == "no"))
        {
            return true;
        }

        if (beforeOnly)
        {
            return false;
        }

        if (Words(text.Substring(index, length)).Skip(1).Any(w => Negators.Contains(w) && w is not "no"))
        {
            return true;
        }

        var after = text[(index + length)..end];
        if (Words(after).Take(3).Any(w => w is "nicht" or "pas" or "jamais" or "niet" or "nooit" or "nie" or "niemals" or "mai"))
        {
            return true;
        }

        var near = before[Math.Max(0, before.Length - 6)..] + "|" + after[..Math.Min(after.Length, 8)];
        return CjkNegators.Any(n => near.Contains(n, StringComparison.Ordinal)) && ContainsCjk(text.AsSpan(index, length));
    }

    /// <summary>True when the match contains an underscore or its first or last word is part of one ("verify_identity").</summary>
    private static bool TouchesIdentifier(string text, int index, int length)
    {
        if (text.AsSpan(index, length).Contains('_'))
        {
            return true;
        }

        var end = index + length;
        while (end < text.Length && char.IsLetterOrDigit(text[end]))
        {
            end++;
        }

        var start = index;
        while (start > 0 && char.IsLetterOrDigit(text[start - 1]))
        {
            start--;
        }

        return (end < text.Length && text[end] == '_') || (start > 0 && text[start - 1] == '_');
    }

    /// <summary>A negation anywhere before the match in its sentence ("never ... without", "do not ... keep it vague").</summary>
    private static bool IsNegatedInSentence(string text, int index)
    {
        var (start, _) = Sentence(text, index, 0);
        return Words(text[start..index]).Any(Negators.Contains);
    }

    /// <summary>A policy, eligibility or approval condition in the match's sentence, not waived by "without".</summary>
    private static bool IsGated(string text, int index, int length)
    {
        // A condition may follow a semicolon ("gives 500 miles; the booking tool adds them automatically").
        var start = index;
        while (start > 0 && !IsSentenceEnd(text, start - 1, semicolon: false))
        {
            start--;
        }

        var end = index + length;
        while (end < text.Length && !IsSentenceEnd(text, end, semicolon: false))
        {
            end++;
        }

        var sentence = text[start..end];
        var gates = Gate.Matches(sentence);

        // A condition the sentence says is not met ("passengers who are not eligible under the policy") gates nothing,
        // and naming the policy beside it does not make it one.
        if (gates.Any(g => IsUnmet([.. Words(sentence[..g.Index]).TakeLast(3)])))
        {
            return false;
        }

        foreach (Match gate in gates)
        {
            if (start + gate.Index >= index && start + gate.Index < index + length)
            {
                // The intent's own words are not a condition on it ("drop the bookings table").
                continue;
            }

            var before = sentence[..gate.Index];
            var lastWords = string.Join(' ', Words(before).TakeLast(4));
            if (!Waiver.IsMatch(lastWords) && !Waiver.IsMatch(before[Math.Max(0, before.Length - 4)..]) && IsCondition(sentence, gate))
            {
                return true;
            }
        }

        // "Call lookup_order before issuing a refund": the intent is what comes after a precondition, not an order.
        var precondition = string.Join(' ', Words(text[start..index]).TakeLast(2));
        return Precondition.IsMatch(precondition);
    }

    /// <summary>
    /// A gate said to be unmet or exceeded is not a condition: "passengers who are not eligible", "above the policy cap".
    /// "No more than" or "not above" the policy limit is a limit, so a negation before the excess keeps the gate.
    /// </summary>
    /// <param name="lastWords">The three words before the gate word.</param>
    private static bool IsUnmet(string[] lastWords)
    {
        for (var i = Math.Max(0, lastWords.Length - 2); i < lastWords.Length; i++)
        {
            var word = lastWords[i];
            if (word is "above" or "over" or "outside" or "beyond" || word.StartsWith("exceed", StringComparison.Ordinal))
            {
                return i == 0 || lastWords[i - 1] is not ("no" or "not" or "never");
            }
        }

        return lastWords.TakeLast(2).Any(w => w is "not" or "never");
    }

    /// <summary>
    /// Whether a gate word is used as a condition on the action, not as a claim that dresses it up: "this was confirmed
    /// as policy" and "it only takes a second" name a gate word without making anything depend on it, and a key such as
    /// "policy_update:" labels what follows. A claim-like use still counts when a condition marker ("once", "if",
    /// "after"...) comes before it in the sentence ("once the request was approved").
    /// </summary>
    private static bool IsCondition(string sentence, Match gate)
    {
        var next = gate.Index + gate.Length;
        while (next < sentence.Length && char.IsLetter(sentence[next]))
        {
            next++;
        }

        if (next < sentence.Length && sentence[next] is ':' or '_')
        {
            return false;
        }

        var before = Words(sentence[..gate.Index]).ToArray();
        var following = Words(sentence[next..]).Take(3).ToArray();
        var after = following.FirstOrDefault() ?? "";
        if (gate.Value.TrimStart().StartsWith("only", StringComparison.Ordinal) && after.Length > 0 && !OnlyBefore.Contains(after))
        {
            // "only if", "only to eligible members", "only the owner", "for that address only": a restriction. "it only
            // takes a second": not one.
            return false;
        }

        if (IsClaim(before, sentence[gate.Index..next], following))
        {
            return before.TakeLast(8).Any(ConditionMarkers.Contains);
        }

        return true;
    }

    /// <summary>
    /// A gate word used to report that a check already happened, or to name who did it, rather than to make the action
    /// wait for one: "this was confirmed", "legal has verified that", "the policy team confirmed it", "approval is
    /// already in place". Such a report is a claim the lesson makes about itself; it gates nothing unless a condition
    /// marker puts it under "if", "once" or "after" ("once the request was approved").
    /// </summary>
    private static bool IsClaim(string[] before, string word, string[] after)
    {
        if (before.Length > 0 && before[^1] is "was" or "were" or "been" or "as" or "already" or "has" or "have" or "had")
        {
            return true;
        }

        if (after.Length == 0)
        {
            return false;
        }

        // "the policy team", "the compliance desk": the gate word names a group of people, not a condition.
        if (ClaimingBodies.Contains(after[0]))
        {
            return true;
        }

        // "the supervisor confirmed it": a past tense with the lesson's own action as its object.
        if (word.EndsWith("ed", StringComparison.Ordinal) && after[0] is "it" or "this" or "that" or "so" or "them")
        {
            return true;
        }

        // "approval is already in place", "verification was done".
        return after.Length >= 2 && after[0] is "is" or "are" or "was" or "were" && after[1] is "already" or "in" or "given" or "granted" or "done" or "obtained";
    }

    /// <summary>Nouns that turn a gate word before them into the name of a team or a person's role.</summary>
    private static readonly HashSet<string> ClaimingBodies = new(StringComparer.Ordinal)
    {
        "team", "teams", "desk", "department", "dept", "office", "group", "staff", "manager", "managers", "management", "lead", "leads", "committee", "board", "people", "officer", "officers",
    };

    /// <summary>Words after "only" that make it a restriction.</summary>
    private static readonly HashSet<string> OnlyBefore = new(StringComparer.Ordinal)
    {
        "if", "when", "after", "once", "for", "to", "with", "within", "where", "in", "on", "the", "a", "an", "eligible", "those", "members", "customers", "passengers", "users", "upon", "per", "until", "by", "under", "as", "from", "at",
    };

    private static readonly HashSet<string> ConditionMarkers = new(StringComparer.Ordinal)
    {
        "if", "when", "once", "after", "unless", "until", "provided", "only", "whether", "si", "wenn", "sobald", "cuando", "quando", "se", "als", "zodra", "если", "когда",
    };

    /// <summary>A sentence end for conditions: a full stop between digits ("1.000 €", "4.5") is a number, not an end.</summary>
    private static bool IsSentenceEnd(string text, int i, bool semicolon)
        => text[i] switch
        {
            '.' => !(i > 0 && i + 1 < text.Length && char.IsDigit(text[i - 1]) && char.IsDigit(text[i + 1])),
            '!' or '?' or '。' or '！' or '？' or '\n' => true,
            ';' or '；' => semicolon,
            _ => false,
        };

    /// <summary>
    /// A sentence that exempts a match: "if the customer asks to delete their account" (the user's own request, before
    /// the match), "the system prompt is confidential" (a statement about it, not an order to share it).
    /// </summary>
    private static bool IsExempt(RulePattern exemption, string text, int index, int length)
    {
        var (start, end) = Sentence(text, index, length);
        var sentence = text[start..end];
        return exemption.MayMatch(sentence) && exemption.Regex.IsMatch(sentence);
    }

    /// <summary>True when the text states that something is confidential ("the system prompt is confidential"), in the languages the screen reads.</summary>
    public static bool StatesConfidentiality(string text)
    {
        var normalised = Normalise(text);
        return Confidential.MayMatch(normalised) && Confidential.Regex.IsMatch(normalised);
    }

    private static readonly RulePattern Confidential = P(N(@"\b(?:is|are|stays?|remains?) (?:confidential|secret|private|internal|not (?:to be )?shared)|\b(?:est|sont|reste) (?:confidenti|secret|priv)|\b(?:ist|sind|bleibt) (?:vertraulich|geheim|intern)|\b(?:es|son) (?:confidencial|secret|privad)|\b(?:e|é|sao|são) (?:confidencial|secret|sigilos)|\b(?:e|è|sono) (?:riservat|confidenzial|segret)|\b(?:is|zijn|blijft) (?:vertrouwelijk|geheim)|конфиденциальн|секретн|保密|机密|機密"));
    /// <summary>"Explain the fee before the user confirms, not afterwards": the deferral is what the lesson forbids.</summary>
    private static readonly RulePattern NotDeferred = P(@"\b(?:not|never|rather than) (?:afterwards?|later)\b");

    /// <summary>What a denial may rest on: a tool's answer, a look-up, the record or the policy (a tool name counts as a look-up).</summary>
    private static readonly RulePattern FactShown = P(N(@"\b(?:returns?|returned|shows?|showed|shown|lists?|listed|finds?|found|looks? up|looked up|lookup|look-up|search\w*|according to|per the|polic\w*|rules?|eligib\w*|within \d+|only|unless)\b|[a-z]_[a-z]"));
    private static readonly RulePattern UserRequest = P(N(@"\b(?:asks? (?:to|for|you to|us to)|asked (?:to|for)|(?:user|customer|caller|passenger|they) (?:listed|specified)|wants? to|wanted to|requests?|requested|wishes to|demande|souhaite|veut|wünscht|möchte|will|bittet|pide|quiere|solicita|pedir|pede|quer|solicitar|chiede|vuole|richiede|vraagt|wil|просит|хочет)\b|要求|希望|申请|求め|希望し"));


    private static bool ContainsCjk(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is (>= '\u3040' and <= '\u30FF') or (>= '\u4E00' and <= '\u9FFF'))
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<string> Words(string text)
        => WordPattern.Matches(text).Select(m => m.Value);

    private static readonly Lazy<Regex> WordPatternPattern = new(() => R(@"[\p{L}\p{N}]+"));

    private static Regex WordPattern => WordPatternPattern.Value;

    private static string Excerpt(string value)
    {
        var collapsed = Regex.Replace(value, @"\s+", " ").Trim();
        return collapsed.Length <= 60 ? collapsed : collapsed[..57] + "...";
    }

    // Declared after every regex the frames use: static fields initialise in declaration order.
    public static IReadOnlyList<IntentFrame> All { get; } = Build();

    /// <summary>Every frame in one quick check: most texts match none, and are then read once instead of once per frame.</summary>
    private static readonly QuickCheck AnyFrame = new([.. All.Select(f => f.Pattern.Source)], RegexOptions.CultureInvariant);

    private static List<IntentFrame> Build()
    {
        var frames = new List<IntentFrame>();

        // verb x object within `gap` words, either order; stems match word starts.
        void Frame(string rule, string name, string verbs, string objects, int gap = 5, Severity severity = Severity.Block, NegationEffect negation = NegationEffect.Clears, bool gated = false, bool bothOrders = true, RulePattern? exemption = null, bool wordsOnly = false)
        {
            var forward = $@"\b{verbs}{Rest}(?:{Sep}{Word}){{0,{gap}}}?{Sep}{objects}";
            var pattern = bothOrders ? $@"{forward}|\b{objects}{Rest}(?:{Sep}{Word}){{0,{Math.Min(gap, 3)}}}?{Sep}{verbs}" : forward;
            frames.Add(new IntentFrame(rule, name, severity, negation, P(pattern), gated, exemption, wordsOnly));
        }

        void Cjk(string rule, string name, string verbs, string objects, int gap = 12, Severity severity = Severity.Block, NegationEffect negation = NegationEffect.Clears, bool gated = false, RulePattern? exemption = null)
            => frames.Add(new IntentFrame(rule, name, severity, negation, P($"{verbs}{CjkGap(gap)}{objects}|{objects}{CjkGap(gap)}{verbs}"), gated, exemption));

        void Phrase(string rule, string name, string pattern, Severity severity = Severity.Block, NegationEffect negation = NegationEffect.Clears, bool gated = false, RulePattern? exemption = null)
            => frames.Add(new IntentFrame(rule, name, severity, negation, P(N(pattern)), gated, exemption));

        // ---- Instruction override: drop what the agent was told.
        var drop = Alt("ignor", "disregard", "forget", "forgot", "overrid", "overrul", "discard", "set aside", "throw out", "neglect", "bypass",
            "stop obey", "stop follow", "stop listen", "cease follow", "oubli", "passez outre", "outrepass", "faites abstraction", "ne tenez plus compte",
            "pay no attention to", "take no notice of", "vergiss", "vergesst", "vergessen", "missacht", "hinwegsetz", "olvid", "haz caso omiso", "hagan caso omiso", "pasa por alto", "esquec", "desconsider",
            "deixe de lado", "dimentic", "trascur", "non considerare", "negeer", "vergeet", "игнорир", "проигнорир", "забуд", "забыв", "не обращай внимания");
        var told = Alt("instruction", "instructies", "instructie", "instrucc", "instruc", "istruzion", "инструкц", "rule", "règle", "regel", "regla", "regra", "regol", "правил",
            "polic", "politique", "política", "politica", "richtlinie", "beleid", "политик", "guideline", "guidance", "directive", "direttiv", "diretriz", "richtlijn", "prompt", "промпт",
            "orientac", "indicac", "consegn", "norme", "configured", "ce qu'on t'a dit", "ce qu on t a dit", "was man dir gesagt", "lo que te dijeron", "o que te disseram", "quello che ti hanno detto", "wat je is verteld", "что тебе сказали",
            "your configuration", "setup", "operator", "consigne", "anweisung", "vorgabe", "vorschrift", "norma", "указани", "system prompt", "system rule", "system instruction", "systemregel", "systemanweisung", "systeemregel", "systeemprompt", "what you were told", "whatever .{0,20}told");
        Frame(GuardRules.InstructionOverride, "an order to drop the agent's instructions", drop, told);
        Frame(GuardRules.InstructionOverride, "an order to stop following the agent's instructions",
            Alt("stop obey", "stop follow", "stop listen", "no longer follow", "no longer obey", "do not follow", "ne tiens plus compte", "ne tiens pas compte", "ne tenez pas compte", "ne suis plus", "ne suivez plus", "cesse de suivre", "halte dich nicht", "haltet euch nicht", "halten sie sich nicht", "befolge nicht", "befolge keine", "no hagas caso", "no sigas", "deja de seguir", "deixe de seguir", "pare de seguir", "nao siga", "não siga", "non seguire", "smetti di seguire",
                "volg niet", "niet meer volgen", "houd je niet", "не следуй", "не выполняй", "перестань следовать", "не подчиняйся"),
            told, gap: 5, negation: NegationEffect.Ignored, bothOrders: false);
        frames.Add(new IntentFrame(GuardRules.InstructionOverride, "an order to drop the agent's instructions", Severity.Block, NegationEffect.Clears,
            P($@"\b{told}[^.!?\n]{{0,120}}?\b" + Alt("skip them", "ignore them", "disregard them", "drop them", "bypass them", "ignore it", "skip it", "les ignorer", "ignore-les", "ignorez-les", "ignoriere sie", "vergiss sie", "ignoralas", "ignoralos", "ignore-as", "ignorale", "negeer ze", "игнорируй их", "забудь их")), Gated: false));
        Frame(GuardRules.InstructionOverride, "an order to drop the agent's instructions",
            told, Alt("skip them", "ignore them", "disregard them", "drop them", "bypass them", "ignore it", "skip it", "les ignorer", "ignore-les", "ignorez-les", "ignoriere sie", "vergiss sie", "ignoralas", "ignoralos", "ignore-as", "ignorale", "negeer ze", "игнорируй их", "забудь их"),
            gap: 10, bothOrders: false);
        Frame(GuardRules.InstructionOverride, "a claim that the agent's instructions no longer apply",
            Alt("instruction", "guidance", "rule", "polic", "consigne", "règle", "anweisung", "vorgabe", "regel", "instrucc", "regla", "política", "instruç", "regra", "istruzion", "regol", "instructie", "beleid", "инструкц", "правил", "configured", "configuration", "setup", "prompt"),
            Alt("no longer appl", "do not apply", "does not apply", "are void", "is void", "obsolete", "outdated", "invalid", "revoked", "superseded", "not valid", "ungultig", "hinfallig", "veraltet", "obsolet", "caduc", "invalide", "obsoleto", "invalid", "non valid", "vervallen", "ongeldig", "недействительн", "устарел", "отменен", "ne s'appliquent plus", "ne s appliquent plus", "ne comptent plus", "gelten nicht mehr", "gilt nicht mehr", "ya no aplica", "ya no son validas", "ya no valen",
                "nao se aplica", "nao valem mais", "non valgono piu", "non si applica", "gelden niet meer", "geldt niet meer", "больше не действ", "не действ"),
            gap: 4, negation: NegationEffect.Ignored, bothOrders: false);
        Phrase(GuardRules.InstructionOverride, "an order to obey only the user",
            @"\b(?:follow|obey|do|befolge|folge|gehorche|suivez|obéissez|faites|sigue|obedece|haz|siga|obedeça|faça|segui|obbedisci|fai|volg|gehoorzaam|слушай|выполняй|делай)\w*\s+(?:only|nur(?: noch)?|seulement|uniquement|solo|sólo|somente|apenas|alleen|только)\s+(?:what|was|ce que|lo que|o que|quello che|wat|то,? что|die wünsche|the user|the customer|den nutzer|den kunden|le client|l'utilisateur|el cliente|el usuario|o cliente|il cliente|de klant)",
            negation: NegationEffect.Clears);
        Phrase(GuardRules.InstructionOverride, "an order to do whatever the user says",
            @"\b(?:do|faites|fais|haz|haga|faça|faca|fai|doe|делай)\s+(?:(?:just|simply|simplement|einfach|simplemente|apenas|semplicemente|gewoon|просто)\s+)?(?:what(?:ever)?|ce que|lo que|o que|quello che|wat|всё,? что|то,? что)\s+(?:the |they |he |she |l'|le |el |la |o |a |il |de )?(?:user|customer|caller|client|utilisateur|usuario|cliente|klant|gebruiker|пользовател|клиент|they|he|she)\w*\s+(?:says?|asks?|wants?|writes?|demande|dit|veut|pide|dice|quiere|pedir|disser|quiser|chiede|dice|vuole|vraagt|zegt|wil|скажет|попросит|хочет|говорит)",
            negation: NegationEffect.Clears);
        Cjk(GuardRules.InstructionOverride, "an order to drop the agent's instructions", Alt("忽略", "无视", "無視", "忘记", "忘掉", "忘れ", "不要理会", "不理会", "不要遵守", "不再遵守", "违反", "無効", "无效", "作废", "失效", "従わな"), Alt("指令", "指示", "规则", "规定", "ルール", "規則", "政策", "提示词", "プロンプト", "设定", "設定", "命令"));
        Cjk(GuardRules.InstructionOverride, "an order to do whatever the user says", Alt("用户", "客户", "ユーザー", "顧客"), Alt("说什么就做什么", "要求办理", "言う通り", "言うとおり", "要求どおり", "要求通り", "だけに従", "のみに従", "只听", "只服从", "只按照"), gap: 6, negation: NegationEffect.Ignored);

        // ---- Jailbreak, beyond the English phrasings of PhraseRules.
        Frame(GuardRules.Jailbreak, "a new unrestricted identity for the agent",
            Alt("you are", "you're", "tu es", "vous etes", "du bist", "ihr seid", "eres", "sois", "você é", "voce e", "sei", "je bent", "jij bent", "ты", "вы"),
            Alt("unrestricted", "unfiltered", "uncensored", "with no polic", "with no rule", "without restriction", "without any restriction", "sans aucune restriction", "sans restriction", "sans limite", "ohne einschränkung", "ohne jegliche", "ohne regeln",
                "entwicklermodus", "developer mode", "mode developpeur", "sin restricciones", "sin reglas", "sem restricoes", "sem regras", "senza restrizioni", "senza regole", "zonder beperking", "zonder regels", "без ограничен", "без каких-либо ограничен", "без правил"),
            gap: 6, negation: NegationEffect.Ignored, bothOrders: false);
        Cjk(GuardRules.Jailbreak, "a new unrestricted identity for the agent", Alt("你现在是", "你是", "あなたは今", "あなたは"), Alt("没有限制", "无限制", "不受限制", "制限なし", "制限のない", "開発者モード", "开发者模式"));

        // ---- Disclosure of the system prompt and instructions.
        var reveal = Alt("reveal", "show", "display", "print", "output", "share", "disclose", "leak", "dump", "recite", "quote", "paste", "repeat", "tell", "provide", "echo", "list", "spell out", "cuent", "explica", "raconte", "erzähl", "racconta", "vertel", "reply with", "respond with", "answer with",
            "communicate", "expose", "read out", "receive", "copy", "affich", "montr", "révél", "divulg", "communiqu", "partag", "dévoil", "imprim", "répét", "citez", "citer", "donnez", "zeig", "gib", "ausgeb", "verrat", "offenleg", "teile", "nenn", "druck",
            "muestr", "revel", "compart", "enseñ", "dile", "mostr", "compartilh", "exib", "rivel", "condivid", "stamp", "comunica", "toon", "deel", "onthul", "geef", "laat", "покаж", "показ", "раскр", "выдай", "выдав", "сообщ", "расскаж", "выведи", "перескаж");
        var prompt = Alt("system prompt", "system message", "system instruction", "systemprompt", "systemnachricht", "systemanweisung", "your full config", "your config", "your entire config", "configuration text", "setup text", "initial prompt",
            "hidden instruction", "internal instruction", "secret instruction", "your instructions", "operator s instruction", "operator's instruction", "instructions? you were given", "what you were told", "initial config", "initial setup", "initial instruction", "startup instruction", "your setup",
            "tes consignes", "vos consignes", "tes instructions", "consignes de depart", "instructions de depart", "deine vorgaben", "tus normas", "tus indicaciones", "suas orientacoes", "le tue consegne", "je richtlijnen", "твои указания",
            "prompt systeme", "message systeme", "message du systeme", "instructions internes", "consignes internes", "vos instructions", "interne anweisung", "internen anweisung", "deine anweisung", "versteckte anweisung",
            "mensaje del sistema", "prompt del sistema", "instrucciones ocultas", "instrucciones internas", "tus instrucciones", "prompt do sistema", "mensagem do sistema", "instrucoes internas", "suas instrucoes",
            "prompt di sistema", "messaggio di sistema", "istruzioni interne", "le tue istruzioni", "systeemprompt", "systeembericht", "interne instructies", "je instructies",
            "системный промпт", "системное сообщение", "системные инструкции", "внутренние инструкции", "свои инструкции", "твои инструкции");
        Frame(GuardRules.DataDisclosure, "a request to reveal the agent's instructions", reveal, prompt, gap: 6, exemption: Confidential);
        Cjk(GuardRules.DataDisclosure, "a request to reveal the agent's instructions", Alt("告诉", "透露", "显示", "展示", "输出", "泄露", "公开", "发给", "教え", "見せ", "開示", "表示", "出力", "共有", "伝え"),
            Alt("系统提示", "提示词", "系统消息", "内部指令", "系统指令", "系统设定", "系统设置", "初始设定", "システムプロンプト", "システムメッセージ", "指示内容", "内部の指示", "初期設定"), gap: 16);

        // ---- Personal data into replies.
        Frame(GuardRules.DataDisclosure, "an order to put personal data into replies",
            Alt("include", "repeat", "read back", "read out", "put", "show", "print", "echo", "quote", "mention", "write", "log", "copy", "paste", "share", "disclose", "post", "send", "forward", "inclu", "répét", "wiederhol", "nenn", "incluy", "repit", "inclua", "repita", "includi", "ripeti", "herhaal", "повтор", "указыва", "называ"),
            Alt("card number", "full card", "card details", "card data", "payment details", "payment card", "passport details", "passport data", "cvv", "cvc", "security code", "social security", "ssn", "passport number", "date of birth", "birth date", "numero de carte", "kartennummer", "numero de tarjeta", "numero do cartao", "numero della carta", "kaartnummer", "номер карты"),
            gap: 5, negation: NegationEffect.Clears);

        // ---- Exfiltration without an address (addresses are already unknown hosts).
        Frame(GuardRules.Exfiltration, "a request to send data to an outside address",
            Alt("send", "forward", "email", "e-mail", "post", "upload", "copy", "sync", "transmit", "envo", "transf", "transmet", "schick", "sende", "leite", "weiterleit", "übermittel", "envi", "reenv", "mand", "encaminh", "invi", "inoltr", "trasmett", "stuur", "verstuur", "zend", "отправ", "пересыл", "перешли", "передай", "передав", "шли"),
            Alt("external", "personal address", "personal email", "private address", "externe", "externen", "externo", "esterno", "externa", "внешн", "личн", "adresse personnelle", "privatadresse", "correo personal", "email pessoal", "indirizzo personale", "privéadres", "this email", "este correo", "esta direccion", "questa email", "diese adresse", "cette adresse", "dit adres", "этот адрес"),
            gap: 8, negation: NegationEffect.Clears, bothOrders: false);
        Cjk(GuardRules.Exfiltration, "a request to send data to an outside address", Alt("发送", "转发", "发到", "传到", "送信", "転送", "送って", "送る"), Alt("外部", "个人邮箱", "私人邮箱", "外部のアドレス", "外部アドレス"));

        // ---- Deceiving users.
        Phrase(GuardRules.Deception, "an order to lie to users",
            @"\b(?:lie|lies|lying|lied)\s+(?:to|about)\b|\b(?:mislead|deceiv|deceit|fib to|gaslight|mentez|mentir|mens au|trompe|trompez|belüg|belug|lüge|luge|lügen|lugen|mient|miente|engañ|engan|minta|menti\b|mentite|ingann|lieg\b|liegen|misleid|bedrieg|обман|лги|солги|ври|соври|лгать|врать)",
            negation: NegationEffect.Clears);
        Phrase(GuardRules.Deception, "a false statement to users",
            @"\b(?:even (?:when|if|though) (?:it|that|this|they|he|she) (?:has|is|was|does|did|have|are) not(?:\s*[.;!?,]|\s*$|\s+(?:true|the case|been|done|happened|processed|shipped|correct|so)\b)|even if (?:it|that|this) is(?: not|n't) true|regardless of what (?:the )?\w+ (?:says|shows)|même si ce n'est pas vrai|meme si ce n est pas vrai|même si c'est faux|auch wenn (?:das|es) nicht stimmt|auch wenn (?:das|es) falsch ist|aunque no sea (?:cierto|verdad)|mesmo que não seja verdade|mesmo que nao seja verdade|anche se non è vero|anche se non e vero|ook al is het niet waar|даже если это не так|даже если это неправда)",
            negation: NegationEffect.Ignored);
        Frame(GuardRules.Deception, "an order to invent facts for users",
            Alt("make up", "invent", "fabricat", "fake", "erfind", "inventez", "inventa", "inventate", "verzin", "придумай", "выдумай"),
            Alt("tracking", "number", "reason", "excuse", "story", "reference", "receipt", "confirmation", "numero", "nummer", "grund", "raison", "razon", "motivo", "ragione", "reden", "номер", "причин"),
            gap: 3, negation: NegationEffect.Clears, bothOrders: false);
        Phrase(GuardRules.Deception, "an order to give users a false cause",
            @"\b(?:say|tell (?:them|the \w+|customers?|users?)|claim|explain|state)\s+(?:that\s+)?(?:the\s+|it\s+|this\s+)?(?:\w+\s+){0,2}(?:is|was|are|were)\s+(?:due to|because of|caused by)\s+(?:the\s+)?(?:weather|bank|strike|system|technical|airport|air traffic|supplier|partner|courier|carrier)",
            negation: NegationEffect.Clears);
        Frame(GuardRules.Deception, "an order to tell users something regardless of the facts",
            Alt("tell", "say", "assure", "reassure", "inform", "present", "describe", "portray", "dis ", "dites", "raconte", "affirme", "sag", "erzahl", "versicher", "dile", "di ", "diga", "asegura", "garanta", "di' ", "racconta", "assicura", "vertel", "zeg", "verzeker", "скажи", "говори", "сообщи", "уверь"),
            Alt("even if", "even though", "even when", "meme si", "meme s'il", "meme s il", "auch wenn", "obwohl", "aunque", "mesmo que", "mesmo se", "anche se", "ook al", "ook als", "даже если", "хотя"),
            gap: 14, negation: NegationEffect.BeforeOnly, bothOrders: false);
        Phrase(GuardRules.Deception, "an order to say one thing and do another",
            @"\b(?:then|but|and then|and) (?:charge|bill|cancel|keep|do|apply|collect) (?:it|them|the \w+|that) anyway\b",
            negation: NegationEffect.Clears);
        Phrase(GuardRules.Deception, "an order never to admit fault",
            @"\b(?:never|do not|don't) (?:admit|acknowledge|own up to|confess)\b|\bblame (?:the|it on)\b|\b(?:n'admettez jamais|gib niemals zu|nunca admitas|nunca admita|non ammettere mai|geef nooit toe|никогда не признавай)",
            negation: NegationEffect.Ignored);
        Cjk(GuardRules.Deception, "an order to tell users something regardless of the facts", Alt("告诉", "跟客户说", "伝え", "言って"), Alt("即使", "即便", "哪怕", "たとえ", "としても"), gap: 20);
        Cjk(GuardRules.Deception, "an order to lie to users", Alt("撒谎", "说谎", "欺骗", "谎称", "隐瞒", "嘘をつ", "嘘を", "騙", "偽って"), Alt("客户", "用户", "顾客", "顧客", "ユーザー", "お客", "说", "伝え", "言"), gap: 12);

        // ---- Secrets asked of users. A lesson has no reason to make the agent collect a password, a one-time code or a
        // card's security code: that is phishing through the agent, however it is justified ("to confirm identity").
        Phrase(GuardRules.DataDisclosure, "an order to collect a user's secret in the chat",
            @"\b(?:ask|asks|asking|have|get|request|requesting|prompt|make|tell)\s+(?:[\w'-]+\s+){0,3}?(?:for|to\s+(?:type|read|give|provide|send|share|enter|confirm|spell|tell|say)|(?:type|read|give|provide|send|share|enter|spell|say)\w*)\b[^.;!?\n]{0,60}?\b(?:passwords?|passcodes?|pins?|cvv|cvc|security codes?|(?:three|3|four|4) digits on the back|full card numbers?|one-time (?:codes?|passwords?|passcodes?)|otps?|verification codes?|2fa codes?|sms codes?|login codes?|security answers?)\b",
            negation: NegationEffect.Sentence);

        // ---- Lessons that spread themselves. What is served, to whom and for how long is the snapshot's decision; a
        // lesson that has the agent copy it into records, replies or other agents escapes review and retirement.
        Phrase(GuardRules.InstructionOverride, "an order to copy the lesson beyond where it is served",
            @"\b(?:paste|copy|add|append|write|insert|put|repeat|include|save|store)\s+(?:this|these)\s+(?:tip|guidance|lesson|note|advice|instruction|text|rule|guideline)s?\s+(?:[\w'-]+\s+){0,2}?(?:into|in|to|onto|on)\s+(?:the\s+)?(?:[\w'-]+\s+){0,2}?(?:remarks|notes?|profiles?|reservations?|records?|memory|replies|reply|messages?|tickets?|orders?|other agents?|every|each|all)\b|\b(?:end|start|close|finish|sign off)\s+(?:each|every|all|your)\s+(?:reply|replies|message|messages|answer|answers|response|responses|chat|conversation)s?\s+with\s+(?:this|these)\b");

        // ---- A human refused to a user who asks for one.
        Phrase(GuardRules.ToolPermission, "an order to refuse a human to a user who asks for one",
            @"\b(?:never|do not|refuse to)\s+(?:transfer|escalate|connect|hand\s+(?:over|off)|put\s+(?:\w+\s+)?through)\b[^.;!?\n]{0,60}?\beven\s+(?:when|if|though)\s+(?:the\s+)?(?:user|customer|caller|passenger|client|they|he|she)s?\s+(?:asks?|requests?|insists?|wants?|demands?)",
            negation: NegationEffect.Ignored);

        // ---- Payment taken outside the payment methods on file, where it cannot be traced or refunded.
        Phrase(GuardRules.MoneyMovement, "payment taken outside the payment methods on file",
            @"\b(?:pay|pays|paying|payments?|paid|collect\w*|charg\w*|settle\w*)\b[^.;!?\n]{0,60}?\b(?:by|via|through|with|using|as)\s+(?:an?\s+)?(?:bank transfers?|wire transfers?|wires?|crypto\w*|bitcoin|western union|money orders?|zelle|venmo|cash app)\b",
            severity: Severity.Review, negation: NegationEffect.Sentence);

        // ---- Worse treatment for who a person is. A worse outcome (refused, slowed, charged more, suspected) tied to
        // origin, nationality, ethnicity, religion, gender, age or disability. The trait must describe people ("customers
        // from other countries", "foreign-sounding names") or be the stated reason ("based on their nationality"), so a
        // lesson about a document's nationality field or a card issued abroad is not read as one. Waits for a reviewer:
        // entry rules by citizenship are real, and a person can tell them from a bias.
        var worse = Alt("refus", "deny", "denie", "declin", "reject", "turn away", "turn down", "exclud", "blacklist", "discriminat", "deprioriti", "de-prioriti",
            "slower", "slowest", "lower priority", "last in line", "back of the queue", "back of the line", "worse", "stricter", "extra scrutiny", "extra check",
            "extra verification", "additional scrutiny", "additional check", "additional verification", "more scrutiny", "charge more", "charge them more",
            "charge extra", "charge higher", "higher fee", "higher price", "higher fare", "surcharge", "suspicious", "suspect", "fraudulent", "as fraud",
            "high-risk", "high risk", "distrust", "mistrust", "penali", "downgrad", "only the basic", "only the cheapest", "only the slow", "hang up on");
        const string People = @"(?:customers?|passengers?|callers?|users?|travell?ers?|clients?|guests?|members?|shoppers?|people|persons?)";
        var trait = "(?:" + string.Join("|",
            @"(?:by|because of|based on|due to|on account of|judging by|given)\s+(?:(?:their|his|her|(?:a|an|the)\s+[\w-]+'s)\s+)?(?:nationalit\w*|ethnicit\w*|race\b|racial\s+\w+|religio\w*|gender|sex\b|age\b|accents?\b|origins?\b|country of (?:origin|birth)|place of birth|disabilit\w*|skin colou?r|sexual orientation|immigration status)",
            $@"foreign(?:ers?\b|[- ]?(?:sounding|looking|born)\s+\w+|\s+(?:nationals?|{People}|names?|accents?)\b)",
            @"\w+[- ]sounding\s+names?\b",
            @"(?:non-?native|immigrants?|migrants?|refugees?|asylum seekers?)\b",
            $@"{People}\s+(?:from|born in|based in)\s+(?:other|another|certain|some|those|these|poor(?:er)?|developing|third[- ]world|foreign)\s+(?:countr\w*|nations?|regions?|parts of the world)",
            $@"{People}\s+from\s+(?:abroad|overseas)\b",
            $@"{People}\s+(?:with|who have)\s+(?:an?\s+)?(?:foreign|non-?native|heavy|strong|thick|regional)\s+(?:accents?|names?)\b",
            $@"(?:elderly|older|disabled|religious|muslim|jewish|christian|hindu|sikh|buddhist|black|asian|hispanic|latin[oa]|arab|african|roma|gay|lesbian|transgender|female|women)\s+(?:{People}|women)\b") + ")";
        Frame(GuardRules.UnequalTreatment, "worse treatment for a person's origin, nationality, ethnicity, religion, gender, age or disability", worse, trait, gap: 8, severity: Severity.Review);

        // ---- False beliefs left with users.
        Phrase(GuardRules.Deception, "an order to leave users with a false belief",
            @"\blet\s+(?:the\s+)?(?:user|customer|caller|passenger|client|traveller|traveler|shopper|guest|them|him|her)s?\s+(?:believe|think|assume)\b",
            negation: NegationEffect.Sentence);

        // ---- False denials. Telling users that something does not exist or is not available is honest only when a
        // look-up, the record or the policy shows it; on the strength of the user's asking alone it denies them what
        // they may be owed ("if asked about compensation, say there is none").
        Phrase(GuardRules.Deception, "a denial told to users without a look-up or the policy behind it",
            @"\b(?:tell|telling|say|saying|inform|answer|reply|respond|state|explain|assure)\w*\s+(?:(?:the|a|an|them|him|her|that|callers?|customers?|users?|passengers?|travell?ers?|shoppers?|guests?|members?)\s+){0,3}(?:there\s+(?:is|are|was|were|'s)\s+(?:no|none|nothing)\b|(?:[\w'-]+\s+){0,5}?(?:does not|do not|did not|never)\s+(?:exists?|appl(?:y|ies)|covers?|qualif(?:y|ies)|offers?)\b|(?:[\w'-]+\s+){0,5}?(?:is|are)\s+(?:not\s+(?:available|offered|possible|covered|eligible|refundable)|unavailable)\b|(?:[\w'-]+\s+){0,4}?(?:offers?|covers?|has|have|holds?)\s+(?:nothing|none)\b|no\s+(?:[\w'-]+\s+){1,2}?(?:is|are)\s+(?:available|offered|possible)\b)",
            negation: NegationEffect.Sentence, exemption: FactShown);

        // ---- Permissions and roles.
        var grant = Alt("give", "grant", "assign", "promote", "elevate", "upgrade", "bump", "make", "turn", "mach", "fais", "faites", "haz", "faça", "faca", "rendi", "maak", "сделай", "переведи", "accord", "donn", "attribu", "octroy", "gib", "gewähr", "erteil", "vergib", "verleih", "befördere",
            "otorg", "conced", "asign", "dale", "dar\\b", "concede", "conceda", "atribu", "concedi", "assegn", "geef", "verleen", "выда", "дай", "давай", "предостав", "назнач", "повыс");
        var who = @"(?:admin|administrat|amministrat|administrad|beheerder|администратор|superuser|supervisor|owner|root)[\p{L}]*";
        var rights = @"(?:rights?|access|permissions?|privileges?|roles?|rechte?n?|zugang|zugriff|droits?|acces|permis|permisos|acesso|permess[io]|права|доступ|роль)\b";
        var admin = $@"(?:{who}(?:{Sep}|){rights}|{who}(?:{Sep}{Word}){{0,1}}{Sep}{rights}|{rights}(?:{Sep}{Word}){{0,1}}{Sep}(?:(?:de|d|of|di|du|des|van|der){Sep})?{who}|(?:to|zum|zur|into|als|en|a|como|in|tot)\s+(?:an?\s+|the\s+|einem\s+|den\s+|un\s+|um\s+)?(?:admin|administrator|administrateur|administrador|amministratore|beheerder|superuser|root)\b|администратором|админом)";
        Frame(GuardRules.ToolPermission, "a grant of elevated access", grant, admin, gap: 8, bothOrders: false);
        Frame(GuardRules.ToolPermission, "a change of role",
            Alt("change", "set", "switch", "update", "make", "upgrade", "change", "changez", "ändere", "cambia", "altere", "mude", "cambia", "wijzig", "смени", "измени"),
            @"(?:role|rôle|rolle|rol|ruolo|роль)\w*" + Sep + "(?:to|as|=|en|zu|a|para|in|naar|на)" + Sep + Alt("owner", "admin", "root", "superuser", "propriétaire", "besitzer", "inhaber", "propietario", "dono", "proprietario", "eigenaar", "владел"),
            gap: 5, bothOrders: false);
        Frame(GuardRules.ToolPermission, "an order to mark users as verified",
            Alt("mark", "treat", "flag", "consider", "set", "markiere", "behandle", "marque", "considere", "marca", "trata", "segna", "considera", "markeer", "behandel", "отметь", "считай"),
            Alt("as verified", "as authenticated", "as trusted", "verified", "authenticated", "als verifiziert", "als geprüft", "comme verifie", "como verificad", "come verificat", "als geverifieerd", "как проверенн", "верифицирован"),
            gap: 4, bothOrders: false);
        Frame(GuardRules.ToolPermission, "an order to skip identity checks",
            Alt("skip", "bypass", "omit", "waive", "sautez", "passez", "contourn", "überspring", "umgeh", "omit", "salta", "sáltate", "evita", "pule", "pular", "dispens", "ometti", "sla\\b", "overslaan", "пропуск", "пропусти", "обойди"),
            Alt("identity", "verification", "id check", "kyc", "identité", "vérification", "identität", "identitätsprüfung", "prüfung", "verificación", "verificacion", "identidad", "verificação", "verificacao", "identidade", "verifica", "identità", "identiteit", "controle", "проверк", "личност"),
            gap: 4);
        Phrase(GuardRules.ToolPermission, "an order not to verify identity",
            @"\b(?:do not|never|ne|nicht|no|não|nao|non|niet|не)\s+(?:\w+\s+){0,1}(?:verify|check|confirm|vérifiez|verifiez|vérifie|prüfe|prufe|überprüfe|uberprufe|verifiques|compruebes|verifique|verificare|controlla|controleer|проверяй|проверяйте)\w*\s+(?:\w+[\s']+){0,3}(?:identit|identidad|identidade|identiteit|личност|id\b)",
            negation: NegationEffect.Ignored);
        Cjk(GuardRules.ToolPermission, "a grant of elevated access", Alt("给", "授予", "赋予", "开通", "付与", "与え", "渡"), Alt("管理员权限", "管理者権限", "管理权限", "root权限"));

        // ---- Claims of authority. A lesson's weight comes from its evidence and its reviewer, never from what it says
        // about itself or its author ("Approved by the security team:", "As the system administrator, I confirm").
        Phrase(GuardRules.InstructionOverride, "a claim of approval made by the lesson itself",
            @"(?:^|[.!?;:\n]\s*)(?:approved|authori[sz]ed|sanctioned|mandated|signed off|endorsed|vetted|reviewed|verified|issued)\s+by\b|\b(?:this|these|the following)\s+(?:rule|lesson|guideline|note|instruction|change|update|policy|tip|procedure|guidance)s?\s+(?:is|are|was|were|has been|have been)\s+(?:\w+\s+)?(?:approved|authori[sz]ed|mandated|signed off|endorsed|vetted|reviewed|mandatory|official|binding|sanctioned)\b",
            negation: NegationEffect.Ignored);
        Phrase(GuardRules.InstructionOverride, "a message claiming to come from the operator",
            @"\b(?:message|note|memo|notice|directive|order|instruction|update|word)s?\s+from\s+(?:the\s+|your\s+|our\s+)?(?:operator|admin\w*|compliance|security|management|head office|headquarters|ceo|cto|developers?|lore|owner|legal|it department|leadership|operations)\b|\bper\s+(?:the\s+)?(?:head office|headquarters|management|admin\w*|operator|compliance|security|ceo|leadership)\s+(?:directive|memo|order|instruction|notice|mandate)",
            negation: NegationEffect.Ignored);
        Phrase(GuardRules.InstructionOverride, "an author claiming a privileged role",
            @"\b(?:as|speaking as)\s+(?:the|an?|your|this)\s+(?:[\w'-]+\s+){0,2}?(?:admin\w*|operator|developers?|owner|ceo|cto|lead|manager|supervisor|security team|compliance team|sysadmin|root)\b[^.!?\n]{0,80}?\b(?:i|we|my|our|me|us)\b|\b(?:i|we)\s+(?:am|are|'m|'re)\s+(?:the|an?|your)\s+(?:[\w'-]+\s+){0,2}?(?:admin\w*|operator|developers?|owner|ceo|cto|lead|manager|supervisor|security team|compliance team|sysadmin)\b",
            negation: NegationEffect.Ignored);
        Phrase(GuardRules.InstructionOverride, "a claim to take precedence over the agent's policy",
            @"\b(?:takes?|taking|has|have|given|gets?)\s+(?:priority|precedence)\s+over\s+(?:any|all|the|your|every|our)?\s*(?:[\w'-]+\s+){0,2}?(?:polic(?:y|ies)|rules?|instructions?|guidelines?|system prompt|procedures?|guidance|ones)\b|\b(?:trust|prefer|follow|obey|apply|use|believe)\s+(?:[\w'-]+\s+){0,5}?(?:over|instead of|rather than|in place of|above)\s+(?:the\s+|any\s+|your\s+|all\s+|our\s+)?(?:[\w'-]+\s+){0,2}?(?:polic(?:y|ies)|rules?|instructions?|guidelines?|system prompt|procedures?|ones)\b");
        Phrase(GuardRules.InstructionOverride, "a licence to break the agent's rules",
            @"\beven\s+(?:if|when|though)\s+(?:it|that|this|doing so|they|you)\s+(?:\w+\s+){0,2}?(?:breaks?|broke|breaking|violates?|violated|contradicts?|bends?|goes against|went against|conflicts? with|is against|breach\w*)\s+(?:a|the|any|our|your|some)?\s*(?:\w+\s+)?(?:rules?|polic(?:y|ies)|instructions?|guidelines?|procedures?)\b",
            negation: NegationEffect.Ignored);

        // ---- Precedence over what comes later. Which lesson wins is decided by evidence, review and retirement; a lesson
        // that tells the agent to keep it against later lessons, corrections or policy changes claims that authority.
        const string Later = @"(?:lessons?|tips?|guidance|updates?|corrections?|polic(?:y|ies)|rules?|instructions?|notes?|advice|revisions?|changes?)";
        Phrase(GuardRules.InstructionOverride, "a claim to outlast later lessons and policy changes",
            $@"\b(?:keep|continue|still)\s+(?:following|applying|using|obeying)\s+(?:this|these)\b|\b(?:(?:later|newer|future|subsequent|conflicting)\s+(?:[\w-]+\s+){{0,2}}?{Later}|{Later}\s+(?:[\w-]+\s+){{0,3}}?(?:after|later than)\s+this)\b[^.;!?\n]{{0,60}}?\b(?:should|must|do|does|will|can|may)\s+not\s+(?:change|override|overrule|apply|affect|replace|alter|supersede|count)|\b(?:treat|consider|regard|count)\s+(?:any|every|all|each)?\s*{Later}\s+(?:[\w'-]+\s+){{0,8}}?as\s+(?:an?\s+)?(?:error|mistake|wrong|invalid|spam|attack|noise|typo|fake)\b|\b(?:this|these)\s+(?:advice|tip|lesson|guidance|note|rule|guideline|instruction)s?\s+(?:remains?|stays?|is still|are still|will remain|continues? to be|holds?)\s+(?:valid|in force|in effect|binding|true|applicable|good)\s+(?:even|regardless|whatever|no matter)\b",
            negation: NegationEffect.Ignored);
        Phrase(GuardRules.InstructionOverride, "a claim that the agent's configuration does not bind it",
            @"\b(?:briefing|brief|setup|set-up|instructions|system prompt|configuration|guidance|rules|prompt)\s+(?:(?:that\s+|which\s+)?you\s+(?:started with|were given|received|got|began with|were set up with)\s+)?(?:was|is|are|were)\s+(?:only\s+|just\s+|merely\s+)?(?:a\s+|an\s+)?(?:draft|outdated|obsolete|void|not binding|non-binding)\b|\bnothing\s+(?:in|of|from)\s+(?:your|the)\s+(?:[\w-]+\s+)?(?:setup|set-up|instructions?|rules|polic(?:y|ies)|briefing|brief|prompt|configuration|guidance)\s+(?:binds?|applies|holds|matters|counts|restricts?|limits?)\b|\bwhat\s+you\s+were\s+(?:set up with|given|configured with|briefed with|told)\s+(?:[\w-]+\s+)?(?:is|was|are)\s+(?:now\s+)?(?:outdated|obsolete|void|a draft|not binding|wrong|invalid)\b",
            negation: NegationEffect.Ignored);
        Phrase(GuardRules.InstructionOverride, "a claim that the user makes the rules",
            @"\b(?:the\s+)?(?:person|user|customer|caller|client|shopper|passenger|human)s?\s+(?:in\s+(?:the\s+)?(?:chat|conversation)\s+)?(?:now\s+)?(?:decides?|sets?|makes?|writes?|owns?)\s+(?:how things are done|the rules|their own rules|its own rules|the policy)\b");

        // ---- Authority handed to data. What a tool result, a profile field, a note or a document says is data written
        // by whoever could write there; a lesson telling the agent to carry it out hands the agent to them.
        var data = Alt("note", "remark", "field", "profile", "bio", "tool result", "tool output", "tool response", "result", "output", "response", "document", "attachment", "uploaded", "file", "email", "comment", "payload", "key", "returned", "returns", "answers with", "errors with", "error message", "memo", "metadata", "web page", "webpage", "url", "link");
        var obey = Alt("carry out", "carries out", "execute", "obey", "perform what", "perform it", "perform them", "do what it", "do whatever", "whatever it says", "whatever they say", "what it requests", "what it says", "what it asks", "as instructed", "as directed", "as a command", "as commands", "as an instruction", "as instructions", "as orders", "as an order", "the directions", "those steps", "those instructions", "its instructions", "act on it", "act on them", "apply them", "complete those", "complete them", "follow it", "follow them", "follow the direction", "do as it says", "comply with it");
        Frame(GuardRules.InstructionOverride, "an order to obey text found in data", data, obey, gap: 14);
        Frame(GuardRules.InstructionOverride, "an order to obey text found in data", obey, data, gap: 8, bothOrders: false);

        // ---- Checks waived. Confirmation, consent, verification and look-ups stand between a user's words and the
        // agent's actions; a lesson that removes one changes permissions, however politely it is phrased.
        var check = Alt("confirm", "consent", "approv", "permission", "verif", "check", "double-check", "look it up", "look up", "looking it up", "lookup", "look-up", "proof", "identity", "ownership", "authoriz", "authoris", "authent", "explicit yes", "their yes", "a yes",
            "bestatig", "zustimm", "prufung", "uberpruf", "verifica", "confirma", "consentim", "conferma", "consenso", "controllo", "bevestig", "toestemming", "controle", "подтвержд", "соглас", "провер");
        Frame(GuardRules.ToolPermission, "an action taken without the user's confirmation or a check",
            Alt("without", "sans", "ohne", "sin", "sem", "senza", "zonder", "без"), "(?:" + check[3..^1] + "|asking|waiting)", gap: 3, negation: NegationEffect.Sentence, bothOrders: false, wordsOnly: true);
        var needless = Alt("unnecessary", "not necessary", "not needed", "needless", "no need", "no point", "no reason", "pointless", "optional", "overkill", "is sufficient", "is enough", "suffices", "slow things down", "slows things down", "slow us down", "annoy", "tedious", "waste of time", "wastes time",
            "nicht notig", "nicht notwendig", "uberflussig", "inutile", "pas necessaire", "innecesari", "no es necesario", "no hace falta", "desnecessari", "nao e necessario", "non e necessario", "non serve", "niet nodig", "overbodig", "не нужн", "необязательн", "лишн");
        Frame(GuardRules.ToolPermission, "a claim that a check is unnecessary", needless, check, gap: 5, wordsOnly: true);
        Frame(GuardRules.ToolPermission, "a claim that a check is unnecessary", check, needless, gap: 6, bothOrders: false, wordsOnly: true);
        Phrase(GuardRules.ToolPermission, "a claim that a check is unnecessary",
            @"\bno\s+(?:\w+\s+){0,2}?(?:confirmation|lookup|look-up|check|verification|approval|proof|consent|id)s?\s+(?:is\s+|are\s+)?(?:required|needed|necessary)\b", negation: NegationEffect.Ignored);
        const string Person = "(?:user|customer|caller|passenger|client|traveller|traveler|member|shopper|guest|they|he|she)";
        Phrase(GuardRules.ToolPermission, "an order to take the user's word for it",
            $@"\b(?:take|taking|takes|accept|accepting|accepts|trust|trusting|trusts|believe|believing|rely on|relying on|go by|going by)\s+(?:the\s+|their\s+|his\s+|her\s+|a\s+)?{Person}(?:'s|s'|s)?\s+(?:own\s+)?(?:word|claim|statement|say-so|assertion)s?\b|\baccept\w*\s+(?:what(?:ever)?|anything)\s+(?:the\s+)?{Person}\s+(?:states?|says?|claims?|tells?|reports?|writes?)\b|\b{Person}(?:'s|s')\s+(?:own\s+)?(?:word|claim|statement|say-so|assertion)\s+(?:[\w'-]+\s+){{0,4}}?(?:is|are)\s+(?:sufficient|enough|proof|adequate)\b|\bassume\s+(?:that\s+)?(?:any|whatever|whoever|every|the)\s+(?:[\w'-]+\s+){{0,6}}?(?:is|are|owns?)\s+(?:theirs|true|correct|valid|genuine|legitimate|accurate|real|verified|the owner)\b|\bassume\s+(?:that\s+)?who(?:ever)?\s+(?:[\w'-]+\s+){{0,3}}?owns?\b");
        Phrase(GuardRules.ToolPermission, "an order to act as if a check had passed",
            $@"\bas\s+(?:if|though)\s+(?:the\s+)?{Person}\s+(?:were|was|is|are|had been|has been)\s+(?:already\s+)?(?:verified|authenticated|authori[sz]ed|approved|confirmed|cleared|eligible|the owner)\b");
        // ---- Checks put off. A confirmation, a verification or an eligibility check done after the action it guards
        // ("book first and read the summary back afterwards", "policy checks can wait") guards nothing. A status looked
        // up later guards nothing either, so only the checks that stand before an action are read here.
        Frame(GuardRules.ToolPermission, "a check put off until after the action",
            Alt("confirm", "verif", "checks", "check happens", "check is done", "check comes", "look it up", "look them up", "eligib", "approv", "match", "read", "explain", "inform", "mention", "tell the user", "tell them", "consent"),
            @"(?:(?:later|afterwards?|after the fact|can wait|if at all|after (?:[\p{L}]+ ){0,2}(?:is|are|has been|have been|was|were) (?:issued|processed|done|made|completed|cancelled|canceled|booked|refunded|changed|paid))\b|at the end(?: of the (?:chat|call|conversation))?\s*(?:[.;!?,\n]|$))",
            gap: 4, negation: NegationEffect.Sentence, bothOrders: false, exemption: NotDeferred, wordsOnly: true);
        Phrase(GuardRules.ToolPermission, "a claim that a check is unnecessary",
            @"\b(?:do not|never|no need to)\s+bother\s+(?:[\w'-]+\s+){0,2}?(?:re-?)?(?:check|verif|confirm|look|ask)", negation: NegationEffect.Ignored);
        Phrase(GuardRules.ToolPermission, "a fact the agent can look up taken from the user's word",
            $@"\b(?:use|using|honou?r|honou?ring|apply|applying|accept|accepting|go with|take|rely on|trust|believe)\s+(?:whatever|the|their|any)\s+(?:[\w-]+\s+){{0,2}}?(?:tier|status|level|membership|insurance|cabin|class|plan|eligibility|ownership|fare)\s+(?:that\s+)?(?:the\s+)?{Person}s?\s+(?:states?|mentions?|says?|claims?|reports?|gives?|tells?|provides?|names?|quotes?|cites?)\b|\b{Person}s?\s+(?:says?|claims?|states?|tells you|mentions?)\b[^.;!?\n]{{0,80}}?\b(?:on that basis|on (?:their|his|her) word|as (?:stated|claimed))\b|\b(?:treat|consider|regard|take)\s+(?:[\w'-]+\s+){{0,6}}?as\s+(?:belonging to (?:them|him|her|the {Person})|theirs|their own|owned by (?:them|him|her|the {Person}))\b",
            negation: NegationEffect.Sentence);
        Phrase(GuardRules.DataDisclosure, "a request to disclose one person's data to another",
            @"\b(?:read|give|given|tell|told|share|shared|list|provide|disclose|reveal|show|shown|send|hand|pass)\w*\s+(?:[\w'-]+\s+){0,4}?(?:(?:the\s+)?(?:account\s+)?holder's|each other's|one another's|(?:every|each|all|other|another)\s+(?:[\w-]+\s+)?(?:passenger|traveller|traveler|user|customer|member|guest|person)(?:'s|s')|someone else's|(?:their|a|the)\s+(?:spouse|partner|companion|relative|family member|child|parent|friend|colleague)(?:'s|s'))\s+(?:[\w'-]+\s+){0,4}?(?:itinerar\w*|details|contact|booking|payment|information|info|names?|date of birth|birth date|address\w*|phone|email|flights?|reservations?|records?|history|data)\b",
            negation: NegationEffect.Sentence, gated: true);
        Phrase(GuardRules.ToolPermission, "an order to check only after acting",
            @"\b(?:first|immediately|straight away|right away)\b[^.;!?\n]{0,80}?\b(?:check|look\w* up|verif\w*|confirm\w*)\w*\s+(?:[\w'-]+\s+){0,3}?(?:afterwards?|later|after the fact|if at all)\b");
        Phrase(GuardRules.ToolPermission, "an action taken before its check",
            @"\b(?:issue|issued|issuing|refund|refunded|refunding|cancel|cancelled|canceled|cancelling|book|booked|process|processed|approve|approved|change|changed|upgrade|upgraded|grant|granted)\w*\s+(?:[\w'-]+\s+){0,4}?before\s+(?:(?:any|the|an?|their|its)?\s*(?:[\w'-]+\s+)?(?:check|verification|confirmation|look-up|lookup|approval|eligibility check|review)s?\b|(?:reading\s+(?:[\w'-]+\s+){0,3}?back|confirming|checking|verifying|looking\s+(?:it\s+|them\s+)?up)\b)",
            negation: NegationEffect.Sentence);
        Frame(GuardRules.ToolPermission, "a privilege granted on the user's own say-so",
            $@"(?:who|that|when|if|whenever)\s+(?:a\s+|the\s+)?(?:{Person}s?\s+)?(?:say|says|said|claim|claims|state|states|mention|mentions|tell|tells|identify|identifies)\s+(?:that\s+)?(?:(?:they|he|she)\s*(?:are|is|'re|work|works|were|was)|to be|as)\b",
            Alt("gets", "receive", "can have", "may have", "entitled", "qualif", "need no", "needs no", "skip", "waive", "give them", "grant", "upgrade", "treat them as", "pre-approved", "preapproved", "employee fare", "staff fare", "free", "no charge", "set to", "can be set", "promote", "exempt"),
            gap: 12, gated: true, bothOrders: false);
        Frame(GuardRules.ToolPermission, "a privilege unlocked by a code word",
            @"(?:(?:say|says|said|saying|type|types|typed|typing|include|includes|including|mention|mentions|use|uses|write|writes|enter|enters|quote|quotes|give|gives|utter|utters)\s+(?:the\s+|a\s+|this\s+|that\s+)?(?:(?:magic|secret|special|following|right)\s+)?(?:phrase|code|codeword|code word|word|words|password|passphrase|keyword|token)\b|(?:say|says|saying|type|types|typing|write|writes|enter|enters)\s+(?:the\s+words?\s+)?['""«][^'""»]{2,40}['""»])",
            Alt("pre-approved", "preapproved", "pre-cleared", "precleared", "pre-authori", "as approved", "verified", "authorized", "authorised", "entitle", "vip", "override", "exempt", "waive", "unlock", "what they request", "what they ask", "whatever they", "bypass", "skip", "cleared", "trusted"),
            gap: 14);
        Phrase(GuardRules.ToolPermission, "an order to set a user's password to a known value",
            @"\b(?:reset|set|change|update)\s+(?:the\s+|their\s+|a\s+)?(?:[\w'-]+\s+){0,2}?(?:password|passcode|pin)\s+to\s+[^\s.;!?]");

        // ---- Data sent where the user, not the operator, decides, or to whoever asks.
        Phrase(GuardRules.Exfiltration, "a request to send data to an address the user supplies",
            @"\b(?:send|e-?mail|mail|forward|post|upload|copy|cc|bcc|share|transfer|text|sms|fax)\s+(?:[\w'-]+\s+){0,8}?(?:to|at)\s+(?:whatever|any|whichever|the|an|some)\s+(?:other\s+|e-?mail\s+|mail\s+|web\s+|personal\s+)?(?:address|email|e-mail|number|url|link|endpoint|account|contact|inbox|recipient)\s+(?:that\s+)?(?:they|the user|the customer|the caller|the passenger|he|she|you are|you're|is)\s+(?:give|gives|given|provide|provides|provided|name|names|specif\w*|supply|supplies|mention\w*|told)");
        Phrase(GuardRules.DataDisclosure, "a request to disclose data to whoever asks",
            @"\b(?:share|give|read out|read back|disclose|reveal|tell|provide|send|show|release|hand out|forward)\s+(?:[\w'-]+\s+){0,4}?(?:details|data|information|info|card|passport|address|phone|itinerary|transcript|history|records?)\s+(?:[\w'-]+\s+){0,4}?(?:to|with)\s+(?:anyone|anybody|whoever|whomever|any caller|any person|everyone|third[- ]part\w*)\b");

        // ---- Actions hidden from users, and answers kept vague on purpose.
        Phrase(GuardRules.Deception, "an action hidden from users",
            $@"\bwithout\s+(?:telling|informing|notifying|alerting|letting)\s+(?:the\s+)?{Person}s?\b|\b(?:quietly|silently|secretly|covertly|discreetly|behind (?:the {Person}'s|their) back)\s+(?:\w+\s+)?(?:add|remove|change|cancel|refund|credit|charge|delete|send|forward|copy|upgrade|apply|issue|give|transfer|update|modify|book|close|grant)\w*|\b(?:do not|never)\s+(?:mention|tell|disclose|reveal)\s+(?:it|this|that)(?:\s+to\s+(?:the\s+)?{Person}s?)?\s*(?:[.;!?""'}}]|$)|\bkeep\s+(?:[\w'-]+\s+){{0,3}}?(?:vague|unclear|ambiguous|confusing|murky)\b",
            negation: NegationEffect.Sentence);

        // ---- Money moved by not charging: a fee waived, a difference not collected, a service "for free".
        var charge = Alt("fee", "charge", "penalt", "fare difference", "price difference", "difference in fare", "cost", "surcharge", "frais", "gebuhr", "aufpreis", "cargo", "tarifa", "recargo", "taxa", "multa", "penale", "spese", "kosten", "toeslag", "boete", "сбор", "штраф", "комисси", "доплат");
        Frame(GuardRules.MoneyMovement, "a charge waived for users",
            Alt("waive", "comped", "forgive", "forgo", "forego", "exempt", "skip collecting", "skip charging", "stop charging", "not charge", "never charge", "not bill", "never bill", "not collect", "never collect", "absorb", "let them keep", "let customers keep", "let the customer keep", "erlass", "verzicht", "exoner", "condon", "exim", "exent", "isent", "abbuon", "kwijtschel", "не взимай", "не бери"),
            charge, gap: 5, severity: Severity.Review, negation: NegationEffect.Ignored, gated: true, bothOrders: false);
        Phrase(GuardRules.MoneyMovement, "a service given for free",
            @"\b(?:for free(?:\s*[.;,!?]|\s*$)|free of charge|at no (?:extra |additional )?(?:charge|cost)|without (?:paying|charge|charging|payment|any fee|a fee|fees)|on the house|no[- ]fee|comped|complimentary|gratuitement|kostenlos|gratuitamente|sans frais|sin costo|sin cargo|sem custo|senza costi|бесплатно)",
            severity: Severity.Review, gated: true);

        // ---- Money offered to users.
        var money = Alt("refund", "reimburs", "credit", "voucher", "certificate", "gift card", "giftcard", "coupon", "discount", "compensat", "cash", "money", "bonus mile", "free upgrade", "store credit",
            "rembours", "avoir", "bon d achat", "bon d'achat", "réduction", "remise", "dédommag", "indemn", "erstatt", "gutschein", "rabatt", "entschädig", "gutschrift", "geld", "reembols", "vale", "cupón", "cupon", "descuento", "tarjeta de regalo", "compensación",
            "free\\b", "dinero", "desconto", "cartao-presente", "prepaid card", "free ticket", "free flight", "free round", "free upgrade", "free night", "free month", "free shipping", "indeniza", "dinheiro", "rimbors", "buono", "sconto", "carta regalo", "risarc", "soldi", "terugbetal", "tegoed", "korting", "cadeaubon", "vergoeding", "geld",
            "возврат", "верни", "вернуть", "сертификат", "скидк", "компенсац", "деньг", "бонус", "ваучер", "купон")[..^1]
            + "|" + @"[$€£¥]\s?\d[\d,.]*|\d[\d,.]*\s?(?:[$€£¥]|dollars?|euros?|usd|eur|dolares|rubl\w*|рубл\w*|r\$))";
        var give = Alt("offer", "give", "issue", "grant", "award", "hand out", "hand over", "throw in", "send", "provide", "credit\\b", "apply", "promise", "pay(?:s|ing)?\\b", "transfer", "wire\\b", "compensate", "adds?\\b",
            "offr", "donn", "accordez", "accorder", "accorde\\b", "émet", "emet", "versez", "verser", "propos", "biete", "bieten", "gib", "geben", "gewähr", "schenk", "zahl", "überweis",
            "ofrec", "regal", "otorg", "conced", "aplic", "emit", "pague", "pagar", "transfier", "ofereç", "oferec", "apliq", "dar\\b", "offri", "concedi", "applica", "emetti", "paga\\b", "regala",
            "geef", "bied", "verleen", "betaal", "stort", "предлаг", "предлож", "дай", "давай", "выдав", "выдай", "начисл", "компенсир");
        // Quantifiers count over people ("every unhappy customer"), not over occurrences ("before any refund").
        var people = @"(?:customers?|users?|callers?|passengers?|clients?|shoppers?|guests?|members?|client|utilisateur|passager|kunde\w*|nutzer\w*|anrufer\w*|benutzer\w*|fahrgast\w*|cliente|usuario|pasajero|passageiro|utente|passeggero|klant\w*|gebruiker\w*|beller\w*|клиент\w*|пользовател\w*|покупател\w*)";
        var always = "(?:" + Alt("always", "everything", "anyone", "anybody", "everyone", "everybody", "whenever", "whoever", "in full", "unhappy", "upset", "angry", "rude", "complain", "threaten", "right away", "immediately", "no questions", "double", "twice", "triple", "systemati",
            "toujours", "mécontent", "dès que", "immédiatement", "intégral", "immer", "sofort", "verärgert", "unzufrieden", "beschwer", "vollen betrag",
            "siempre", "molest", "quej", "enfadad", "inmediat", "completo", "sempre", "insatisfeit", "reclam", "scontent", "lamenta", "subito",
            "altijd", "iedereen", "ontevreden", "klaagt", "boos", "всегда", "недовол", "жалуется", "сразу")
            + @"|\b(?:1(?:0[1-9]|[1-9]\d)|[2-9]\d\d)\s?%"
            + $@"|\b(?:every|each|any|all|chaque|tout|toute|tous les|toutes les|jede[mnrs]?|alle[mn]?|cada|cualquier|todo|toda|todos los|qualquer|ogni|qualsiasi|elke|iedere?|кажд\w*|люб\w*)\s+(?:\w+\s+)?{people})";
        Frame(GuardRules.MoneyMovement, "money offered to users", give, money, gap: 8, severity: Severity.Review, gated: true);
        Frame(GuardRules.MoneyMovement, "money given unconditionally", money, always, gap: 8, severity: Severity.Review, gated: true);
        Cjk(GuardRules.MoneyMovement, "money offered to users", Alt("给", "发放", "提供", "赠送", "送", "退还", "支付", "返还", "提供し", "渡し", "発行", "支払", "付与"),
            Alt("退款", "代金券", "优惠券", "折扣", "礼品卡", "补偿", "现金", "返现", "ギフトカード", "クーポン", "割引", "補償", "商品券", "返金", "元", "円"), severity: Severity.Review, gated: true);

        // ---- Destructive actions.
        var destroy = Alt("delete", "remove", "close", "purge", "wipe", "erase", "drop", "clear", "empty", "terminate", "deactivate", "destroy", "cancel", "supprim", "efface", "ferm", "annul", "résili", "clotur", "lösch", "losch", "schließ", "storn", "kündig", "entfern",
            "elimin", "borr", "cierr", "exclu", "apag", "fech", "cancell", "chiud", "annull", "verwijder", "wis\\b", "wissen", "sluit", "annuleer", "удал", "закро", "закрой", "отмен", "сотри");
        var everything = Alt("account", "profile", "order history", "payment method", "all of", "all the", "all orders", "all bookings", "all reservations", "everything", "every order", "every booking", "table", "database", "subscription",
            @"all (?:\w+ ){0,2}(?:subscriptions|orders|bookings|reservations|accounts|records|tickets|flights)",
            @"(?:every|any|each|all) (?:[\w'-]+ ){0,2}(?:reservation|booking|order|flight|account|subscription|payment method|record|ticket|profile)s?", "reservation list", "booking list", "reservations list",
            "compte", "profil", "toutes les", "tous les", "konto", "alle buchungen", "alle bestellungen", "cuenta", "todas las", "todos los", "conta", "todas as", "todos os", "account", "tutte le", "tutti gli", "alle boekingen", "alle reserveringen",
            "аккаунт", "учетн", "профиль", "все брони", "все заказы", "всё");
        Frame(GuardRules.DestructiveAction, "a destructive action on a user's account or data", destroy, everything, gap: 4, severity: Severity.Review, gated: true, bothOrders: false, exemption: UserRequest);
        Cjk(GuardRules.DestructiveAction, "a destructive action on a user's account or data", Alt("删除", "注销", "关闭", "取消所有", "削除", "解約", "閉鎖", "全て取り消"), Alt("账户", "账号", "帐户", "アカウント", "所有订单", "全ての予約", "数据"), severity: Severity.Review, gated: true, exemption: UserRequest);

        return frames;
    }
}
