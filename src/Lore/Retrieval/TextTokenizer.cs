using System.Collections.Frozen;

namespace Lore.Retrieval;

/// <summary>One token inside a <see cref="TokenList"/>'s character buffer.</summary>
internal readonly record struct TokenSpan(int Start, int Length, bool IsStopWord);

/// <summary>
/// A reusable list of normalised tokens backed by one character buffer, so tokenising a query allocates nothing
/// once the buffers have grown to the usual query size.
/// </summary>
internal sealed class TokenList
{
    private char[] _chars = new char[256];
    private TokenSpan[] _tokens = new TokenSpan[64];
    private int _charCount;

    public int Count { get; private set; }

    public TokenSpan this[int index] => _tokens[index];

    public ReadOnlySpan<char> Text(int index)
    {
        var t = _tokens[index];
        return _chars.AsSpan(t.Start, t.Length);
    }

    public ReadOnlySpan<char> Text(TokenSpan token) => _chars.AsSpan(token.Start, token.Length);

    public void Clear()
    {
        Count = 0;
        _charCount = 0;
    }

    /// <summary>Reserves room for a token of at most <paramref name="maxLength"/> characters and returns it.</summary>
    internal Span<char> Reserve(int maxLength)
    {
        if (_charCount + maxLength > _chars.Length)
        {
            Array.Resize(ref _chars, Math.Max(_chars.Length * 2, _charCount + maxLength));
        }

        return _chars.AsSpan(_charCount, maxLength);
    }

    internal void Commit(int length, bool isStopWord)
    {
        if (Count == _tokens.Length)
        {
            Array.Resize(ref _tokens, _tokens.Length * 2);
        }

        _tokens[Count++] = new TokenSpan(_charCount, length, isStopWord);
        _charCount += length;
    }

    public List<string> ToStrings(bool includeStopWords = false)
    {
        var list = new List<string>(Count);
        for (var i = 0; i < Count; i++)
        {
            if (includeStopWords || !_tokens[i].IsStopWord)
            {
                list.Add(Text(i).ToString());
            }
        }

        return list;
    }
}

/// <summary>
/// The one normalisation shared by lexical scoring, keyword triggers and the hashed embedding: runs of letters and
/// digits, lower-cased (invariant), plural "s" stripped (the S-stemmer), English stop words flagged. Underscores and
/// punctuation split, so <c>refund_order</c> reads as "refund order".
/// </summary>
internal static class TextTokenizer
{
    /// <summary>Longer runs are cut here; nothing meaningful is that long and it bounds the work per token.</summary>
    public const int MaxTokenLength = 48;

    private static readonly FrozenSet<string> StopWords = FrozenSet.Create(StringComparer.Ordinal,
    [
        "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before",
        "being", "but", "by", "can", "could", "did", "do", "does", "doing", "for", "from", "had", "has", "have",
        "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
        "just", "me", "my", "myself", "of", "on", "or", "our", "ours", "she", "so", "than", "that", "the", "their",
        "theirs", "them", "then", "there", "these", "they", "this", "those", "to", "too", "us", "was", "we", "were",
        "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
        "yours", "s", "t", "d", "ll", "m", "re", "ve",
    ]);

    private static readonly FrozenSet<string>.AlternateLookup<ReadOnlySpan<char>> StopWordLookup =
        StopWords.GetAlternateLookup<ReadOnlySpan<char>>();

    public static bool IsStopWord(ReadOnlySpan<char> lowerToken) => StopWordLookup.Contains(lowerToken);

    /// <summary>Appends the tokens of <paramref name="text"/> to <paramref name="into"/>.</summary>
    public static void Tokenize(ReadOnlySpan<char> text, TokenList into)
    {
        var i = 0;
        while (i < text.Length)
        {
            if (!char.IsLetterOrDigit(text[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < text.Length && char.IsLetterOrDigit(text[i]))
            {
                i++;
            }

            var length = Math.Min(i - start, MaxTokenLength);
            var buffer = into.Reserve(length);
            for (var k = 0; k < length; k++)
            {
                buffer[k] = char.ToLowerInvariant(text[start + k]);
            }

            var token = buffer[..length];
            var stop = IsStopWord(token);
            into.Commit(stop ? length : Stem(token), stop);
        }
    }

    /// <summary>Tokens of a text as strings (index build, tests).</summary>
    public static List<string> Tokens(string? text, bool includeStopWords = false)
    {
        var list = new TokenList();
        Tokenize(text, list);
        return list.ToStrings(includeStopWords);
    }

    /// <summary>
    /// Harman's S-stemmer: "policies" -> "policy", "refunds" -> "refund", "boxes" -> "boxe", leaving "status",
    /// "address" and short words alone. Works in place and returns the new length.
    /// </summary>
    internal static int Stem(Span<char> word)
    {
        var n = word.Length;
        if (n <= 3 || word[n - 1] != 's')
        {
            return n;
        }

        if (word.EndsWith("ies") && !word.EndsWith("eies") && !word.EndsWith("aies"))
        {
            word[n - 3] = 'y';
            return n - 2;
        }

        if (word.EndsWith("es") && !word.EndsWith("aes") && !word.EndsWith("ees") && !word.EndsWith("oes"))
        {
            return n - 1;
        }

        if (!word.EndsWith("us") && !word.EndsWith("ss") && !word.EndsWith("is"))
        {
            return n - 1;
        }

        return n;
    }
}
