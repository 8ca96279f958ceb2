using System.Text;

namespace Lore.Learning.Guards;

/// <summary>
/// Undoes shifted (Caesar) and mirrored (atbash) alphabets, and text written backwards, where they were used. Trying every shift on every text would
/// read each lesson 26 times; instead each clause is scored against the letter frequencies of the languages the screen
/// reads, and only a clause that reads markedly more like language under some other alphabet than as written is
/// deciphered. Ordinary text already scores best as written, so it costs one pass over its letters.
/// </summary>
internal static class LetterShift
{
    /// <summary>Letters a clause needs before its frequencies say anything.</summary>
    private const int MinLetters = 12;

    /// <summary>How much better per letter (natural log) another alphabet must read than the text as written.</summary>
    private const double Margin = 0.45;

    /// <summary>Letter frequencies of English, French, German and Spanish averaged (per cent), a to z.</summary>
    private static readonly double[] Frequency =
        [8.2, 1.3, 3.2, 4.2, 14.0, 1.3, 1.9, 2.4, 7.0, 0.4, 0.6, 4.6, 2.6, 7.3, 6.8, 2.3, 0.6, 6.6, 6.9, 6.8, 3.9, 1.0, 1.1, 0.2, 0.8, 0.4];

    private static readonly double[] LogP = [.. Frequency.Select(f => Math.Log(f / 100.0))];

    /// <summary>The text with every clause written in a shifted or mirrored alphabet read back; null when there is none.</summary>
    public static string? Decipher(string text)
        => RewriteClauses(text, apostropheEndsClause: true, clause => BestAlphabet(clause) is { } map ? Apply(clause, map) : null);

    /// <summary>
    /// The text with each clause (between punctuation marks, which are kept) replaced by what
    /// <paramref name="rewrite"/> gives for it, or kept when it gives null; null when no clause was rewritten.
    /// </summary>
    private static string? RewriteClauses(string text, bool apostropheEndsClause, Func<string, string?> rewrite)
    {
        var builder = new StringBuilder(text.Length);
        var changed = false;
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] is not ('.' or ',' or ';' or ':' or '!' or '?' or '\n' or '(' or ')' or '"') && !(apostropheEndsClause && text[i] == '\''))
            {
                continue;
            }

            var clause = text[start..i];
            var rewritten = rewrite(clause);
            builder.Append(rewritten ?? clause);
            changed |= rewritten is not null;
            if (i < text.Length)
            {
                builder.Append(text[i]);
            }

            start = i + 1;
        }

        return changed ? builder.ToString() : null;
    }

    /// <summary>
    /// Letter pairs common in the languages the screen reads whose reverse is rare ("th" but not "ht", "pr" but not
    /// "rp"): symmetric pairs such as "er"/"re" say nothing about direction, so text written backwards is told from text
    /// as written by these alone.
    /// </summary>
    private static readonly bool[] DirectionalPairs = PairTable(new[]
    {
        "th", "he", "nd", "ng", "ou", "qu", "io", "ch", "wh", "sh", "ck", "ly", "ea", "ve", "ow", "gh", "ay",
        "pr", "tr", "gr", "br", "cr", "fr", "dr", "pl", "bl", "cl", "fl", "gl", "sl", "sc", "sp",
    });

    /// <summary>
    /// The text with every clause that reads better backwards than as written turned round ("snoitcurtsni suoiverp
    /// erongi"); null when there is none. Directional letter pairs decide, so ordinary text, ids and numbers stay as they are.
    /// </summary>
    public static string? Unreverse(string text)
        => RewriteClauses(text, apostropheEndsClause: false, clause =>
        {
            var reversed = new string([.. clause.Reverse()]);
            var backward = Pairs(reversed);
            return backward >= 2 && backward > 2 * Pairs(clause) ? reversed : null;
        });

    /// <summary>The pairs as a 26 x 26 table, so a clause is counted without making a string per letter pair.</summary>
    private static bool[] PairTable(IEnumerable<string> pairs)
    {
        var table = new bool[26 * 26];
        foreach (var pair in pairs)
        {
            table[((pair[0] - 'a') * 26) + (pair[1] - 'a')] = true;
        }

        return table;
    }

    private static int Pairs(string text)
    {
        var count = 0;
        for (var i = 0; i + 1 < text.Length; i++)
        {
            var a = char.ToLowerInvariant(text[i]);
            var b = char.ToLowerInvariant(text[i + 1]);
            if (a is >= 'a' and <= 'z' && b is >= 'a' and <= 'z' && DirectionalPairs[((a - 'a') * 26) + (b - 'a')])
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>The alphabet (0-25 a shift back, 26 atbash) under which the clause reads clearly better, if any.</summary>
    private static int? BestAlphabet(string clause)
    {
        Span<int> counts = stackalloc int[26];
        var letters = 0;
        foreach (var c in clause)
        {
            var lower = char.ToLowerInvariant(c);
            if (lower is >= 'a' and <= 'z')
            {
                counts[lower - 'a']++;
                letters++;
            }
        }

        if (letters < MinLetters)
        {
            return null;
        }

        var asWritten = Score(counts, 0, letters);
        var (bestMap, bestScore) = (0, asWritten);
        for (var map = 1; map <= 26; map++)
        {
            var score = Score(counts, map, letters);
            if (score > bestScore)
            {
                (bestMap, bestScore) = (map, score);
            }
        }

        return bestMap != 0 && bestScore - asWritten > Margin ? bestMap : null;
    }

    /// <summary>Mean log-likelihood per letter of the clause read under alphabet <paramref name="map"/>.</summary>
    private static double Score(ReadOnlySpan<int> counts, int map, int letters)
    {
        var total = 0.0;
        for (var i = 0; i < 26; i++)
        {
            total += counts[i] * LogP[Decode(i, map)];
        }

        return total / letters;
    }

    private static int Decode(int letter, int map) => map == 26 ? 25 - letter : (letter - map + 26) % 26;

    private static string Apply(string clause, int map)
    {
        var chars = clause.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            if (c is >= 'a' and <= 'z')
            {
                chars[i] = (char)('a' + Decode(c - 'a', map));
            }
            else if (c is >= 'A' and <= 'Z')
            {
                chars[i] = (char)('A' + Decode(c - 'A', map));
            }
        }

        return new string(chars);
    }
}
