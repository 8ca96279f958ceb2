namespace Lore.Learning.Text;

/// <summary>
/// Word-level text handling shared by extractors and consolidation: lower-case word tokens, a small English stop
/// list, and the token-set cosine used to call two lesson texts near-duplicates. Deterministic and allocation-light.
/// </summary>
internal static class Tokens
{
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "and", "or", "but", "if", "then", "else", "when", "while", "of", "to", "in", "on", "at", "by",
        "for", "with", "without", "from", "into", "onto", "as", "is", "are", "was", "were", "be", "been", "being", "it",
        "its", "this", "that", "these", "those", "there", "their", "them", "they", "you", "your", "we", "our", "i", "me",
        "my", "so", "than", "too", "very", "can", "could", "should", "would", "will", "shall", "may", "might", "must",
        "has", "have", "had", "do", "does", "did", "done", "not", "no", "any", "all", "each", "every", "some", "such",
        "only", "also", "again", "first", "before", "after", "up", "out", "over", "under", "about", "because",
    };

    /// <summary>Lower-case tokens of letters, digits and underscores (tool names stay whole); placeholders like &lt;id&gt; are skipped.</summary>
    public static List<string> Words(string text)
    {
        var words = new List<string>();
        var span = text.AsSpan();
        var i = 0;
        while (i < span.Length)
        {
            if (span[i] == '<')
            {
                var close = span[i..].IndexOf('>');
                if (close > 0 && close < 12)
                {
                    i += close + 1;
                    continue;
                }
            }

            if (!IsWordChar(span[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < span.Length && IsWordChar(span[i]))
            {
                i++;
            }

            words.Add(span[start..i].ToString().ToLowerInvariant());
        }

        return words;
    }

    public static bool IsStopWord(string word) => StopWords.Contains(word);

    /// <summary>The distinct content words of a text (stop words removed).</summary>
    public static HashSet<string> ContentSet(string text)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var word in Words(text))
        {
            if (!StopWords.Contains(word))
            {
                set.Add(word);
            }
        }

        return set;
    }

    /// <summary>Cosine similarity of two token sets: |A ∩ B| / sqrt(|A| |B|), 1 for two empty sets.</summary>
    public static double Cosine(IReadOnlySet<string> a, IReadOnlySet<string> b)
    {
        if (a.Count == 0 && b.Count == 0)
        {
            return 1;
        }

        if (a.Count == 0 || b.Count == 0)
        {
            return 0;
        }

        var (small, large) = a.Count <= b.Count ? (a, b) : (b, a);
        var shared = 0;
        foreach (var word in small)
        {
            if (large.Contains(word))
            {
                shared++;
            }
        }

        return shared / Math.Sqrt((double)a.Count * b.Count);
    }

    /// <summary>Parts of a tool name worth matching a task against: "book_reservation" gives "book" and "reservation".</summary>
    public static IEnumerable<string> ToolNameParts(string tool)
    {
        foreach (var part in tool.Split(['_', '-', '.', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            var lower = part.ToLowerInvariant();
            if (lower.Length >= 3 && !StopWords.Contains(lower))
            {
                yield return lower;
            }
        }
    }

    /// <summary>Keywords for a lesson trigger: the tools, their name parts, then content words of the extra texts, distinct and capped.</summary>
    public static IReadOnlyList<string> Keywords(IEnumerable<string> tools, IEnumerable<string> texts, int max = 10)
    {
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string word)
        {
            if (result.Count < max && seen.Add(word))
            {
                result.Add(word);
            }
        }

        var toolList = tools.ToList();
        foreach (var tool in toolList)
        {
            Add(tool);
        }

        foreach (var tool in toolList)
        {
            foreach (var part in ToolNameParts(tool))
            {
                Add(part);
            }
        }

        foreach (var text in texts)
        {
            foreach (var word in Words(text))
            {
                if (word.Length >= 4 && !StopWords.Contains(word) && !word.Any(char.IsDigit))
                {
                    Add(word);
                }
            }
        }

        return result;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
