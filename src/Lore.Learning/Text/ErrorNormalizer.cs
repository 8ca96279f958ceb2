using System.Text;
using System.Text.RegularExpressions;

namespace Lore.Learning.Text;

/// <summary>
/// Reduces a tool's error message to its pattern, so that the same failure with different ids, amounts, dates or
/// quoted values counts as one: <c>Error: reservation 4WQ150 not found</c> becomes <c>reservation &lt;id&gt; not found</c>.
/// The result is lower case, has no digits and is a fixed point (normalising it again changes nothing).
/// Public because the engine's failure-mode grouping must key failures exactly as the extractors do.
/// </summary>
public static partial class ErrorNormalizer
{
    /// <summary>Longest pattern kept; error texts longer than this are cut (stack traces, dumps).</summary>
    public const int MaxLength = 160;

    /// <summary>Patterns already known to be fixed points, so the confirming pass runs once per pattern, not once per error.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> FixedPoints = new(StringComparer.Ordinal);

    private const int MaxRememberedPatterns = 10_000;

    /// <summary>The pattern of <paramref name="error"/>: what every occurrence of the same failure has in common (<c>&lt;empty&gt;</c> for null or blank).</summary>
    public static string Normalize(string? error)
    {
        // A rule's match can depend on neighbours another rule replaced (a quote after "H2" is an apostrophe, after
        // "<id>" it opens a value), so one pass is not always a fixed point; passes repeat until nothing changes.
        var current = Pass(error);
        if (FixedPoints.ContainsKey(current))
        {
            return current;
        }

        for (var i = 0; i < 8; i++)
        {
            var next = Pass(current);
            if (next == current)
            {
                break;
            }

            current = next;
        }

        if (FixedPoints.Count >= MaxRememberedPatterns)
        {
            FixedPoints.Clear();
        }

        FixedPoints.TryAdd(current, 0);
        return current;
    }

    private static string Pass(string? error)
    {
        if (string.IsNullOrWhiteSpace(error))
        {
            return "<empty>";
        }

        // The first non-empty line carries the message; what follows is usually a trace or a dump.
        var text = error.AsSpan().Trim();
        var newline = text.IndexOfAny('\r', '\n');
        var line = (newline >= 0 ? text[..newline] : text).ToString();
        if (line.Length > 4 * MaxLength)
        {
            line = line[..(4 * MaxLength)];
        }

        string previous;
        do
        {
            previous = line;
            line = ErrorPrefix().Replace(line, "");
        }
        while (line.Length != previous.Length);

        var hasLowercase = line.Any(char.IsLower);
        line = Url().Replace(line, "<url>");
        line = Email().Replace(line, "<email>");
        line = Uuid().Replace(line, "<id>");
        line = DateTime().Replace(line, "<date>");
        line = SlashDate().Replace(line, "<date>");
        line = ClockTime().Replace(line, "<time>");
        line = MixedToken().Replace(line, "<id>");
        line = Number().Replace(line, "<num>");
        if (hasLowercase)
        {
            line = UpperCode().Replace(line, m => StatusWords.Contains(m.Value) ? m.Value : "<id>");
        }

        line = Quoted().Replace(line, "<value>");

        // Digits can survive only in odd spots (a digit glued to a placeholder); they never belong to a pattern.
        line = Digits().Replace(line, "<num>");
        line = line.ToLowerInvariant();
        line = PlaceholderList().Replace(line, "$1, …");
        line = Whitespace().Replace(line, " ").Trim().TrimEnd('.', ':', ';', ',', '!', ' ');
        if (line.Length > MaxLength)
        {
            line = CutAtWord(line, MaxLength);
        }

        return line.Length == 0 ? "<empty>" : line;
    }

    /// <summary>Capitalised words that error messages use as words, not as codes.</summary>
    private static readonly HashSet<string> StatusWords = new(StringComparer.Ordinal)
    {
        "ABORTED", "DENIED", "ERROR", "EXISTS", "EXPIRED", "FAILED", "FATAL", "FORBIDDEN", "FOUND", "INVALID", "LIMIT",
        "LOCKED", "MISSING", "REFUSED", "REJECTED", "REQUIRED", "TIMEOUT", "UNAUTHORIZED", "UNAVAILABLE", "UNKNOWN",
    };

    /// <summary>Cuts to at most <paramref name="max"/> characters at a word boundary and marks the cut with an ellipsis.</summary>
    private static string CutAtWord(string text, int max)
    {
        max -= 2;
        var cut = text.LastIndexOf(' ', max);
        var head = cut > max / 2 ? text[..cut] : text[..max];

        // Never leave half a placeholder behind.
        var open = head.LastIndexOf('<');
        if (open >= 0 && head.IndexOf('>', open) < 0)
        {
            head = head[..open];
        }

        return new StringBuilder(head.TrimEnd()).Append(" …").ToString();
    }

    [GeneratedRegex(@"^\s*(?:error|exception)\s*(?:[:\-–]\s*|$)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ErrorPrefix();

    [GeneratedRegex("\"[^\"]*\"|(?<![\\w])'[^']*'(?![\\w])|`[^`]*`|“[^”]*”|‘[^’]*’", RegexOptions.CultureInvariant)]
    private static partial Regex Quoted();

    [GeneratedRegex(@"\b[a-z][a-z0-9+.-]*://[^\s,;)]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Url();

    [GeneratedRegex(@"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", RegexOptions.CultureInvariant)]
    private static partial Regex Email();

    [GeneratedRegex(@"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Uuid();

    [GeneratedRegex(@"\b\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b", RegexOptions.CultureInvariant)]
    private static partial Regex DateTime();

    [GeneratedRegex(@"\b\d{1,2}/\d{1,2}/\d{2,4}\b", RegexOptions.CultureInvariant)]
    private static partial Regex SlashDate();

    [GeneratedRegex(@"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?\b)?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ClockTime();

    /// <summary>A token mixing letters (or _ # -) and digits: flight HAT229, certificate_7504069, #W1234567, 4WQ150.</summary>
    [GeneratedRegex(@"#?(?=[\w#-]*\d)(?=[\w#-]*[A-Za-z_])[\w#][\w#-]*", RegexOptions.CultureInvariant)]
    private static partial Regex MixedToken();

    [GeneratedRegex(@"[-+]?[$€£¥]?\d(?:[\d,]*\d)?(?:\.\d+)?(?:e[-+]?\d+)?%?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Number();

    /// <summary>An all-capitals code in an otherwise lower-case message (a confirmation code such as HATHAT).</summary>
    [GeneratedRegex(@"\b[A-Z]{5,10}\b", RegexOptions.CultureInvariant)]
    private static partial Regex UpperCode();

    [GeneratedRegex(@"\d+", RegexOptions.CultureInvariant)]
    private static partial Regex Digits();

    [GeneratedRegex(@"(<(?:id|num|value|date)>)(?:\s*,\s*<(?:id|num|value|date)>)+", RegexOptions.CultureInvariant)]
    private static partial Regex PlaceholderList();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Whitespace();
}
