using System.Text;
using Microsoft.ML.Tokenizers;

namespace Lore.Retrieval;

/// <summary>
/// The one system-message section lessons are injected as:
/// <code>
/// &lt;lore-lessons snapshot="snap-…"&gt;
/// Lessons learned from earlier episodes (apply when relevant)
/// - [lesson-id] Look up the order before issuing a refund.
/// &lt;/lore-lessons&gt;
/// </code>
/// Every piece ends with a newline (the closing tag aside) so that cl100k never merges tokens across pieces: the
/// tokens of the section are exactly the sum of its pieces', each counted once when a snapshot is indexed.
/// </summary>
internal static class LessonSection
{
    public const string OpeningTag = "<lore-lessons";
    public const string ClosingTag = "</lore-lessons>";

    public static string Header(string? snapshotId, string title)
        => $"{OpeningTag} snapshot=\"{Clean(snapshotId ?? "none")}\">\n{Clean(title)}\n";

    public static string Line(Lesson lesson) => $"- [{Clean(lesson.Id)}] {Clean(lesson.Text)}\n";

    /// <summary>Joins the header, the chosen lines and the closing tag into one string of exactly that length (no builder to grow and copy).</summary>
    public static string Render(string header, ReadOnlySpan<string> lines)
    {
        var length = header.Length + ClosingTag.Length;
        foreach (var line in lines)
        {
            length += line.Length;
        }

        return string.Create(length, new SectionParts(header, lines), static (into, parts) =>
        {
            parts.Header.CopyTo(into);
            var at = parts.Header.Length;
            foreach (var line in parts.Lines)
            {
                line.CopyTo(into[at..]);
                at += line.Length;
            }

            ClosingTag.CopyTo(into[at..]);
        });
    }

    private readonly ref struct SectionParts(string header, ReadOnlySpan<string> lines)
    {
        public string Header { get; } = header;

        public ReadOnlySpan<string> Lines { get; } = lines;
    }

    /// <summary>
    /// One line of plain text: whitespace runs (newlines included) become one space, and anything that could close
    /// or open the section from inside a lesson is defused.
    /// </summary>
    internal static string Clean(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text.AsSpan().Trim())
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = true;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(c);
        }

        return builder.Replace("</lore-lessons", "&lt;/lore-lessons").Replace("<lore-lessons", "&lt;lore-lessons").ToString();
    }
}

/// <summary>Counts cl100k tokens, the budget unit of <see cref="RetrievalSettings.TokenBudget"/>.</summary>
internal static class TokenCounter
{
    private static readonly Lazy<Tokenizer> Cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    public static Tokenizer Tokenizer => Cl100k.Value;

    public static int Count(string text) => Cl100k.Value.CountTokens(text);
}
