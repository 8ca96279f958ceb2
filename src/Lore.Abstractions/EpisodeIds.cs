namespace Lore;

/// <summary>
/// The one grammar of episode ids, shared by every way an episode enters Lore (REST, proxy, MCP, OTLP, ingest), so that
/// an id accepted anywhere can be addressed by every route: 1 to 128 ASCII letters, digits, '.', '_', ':' or '-',
/// starting with a letter or digit (so never "." or ".." and never anything a URL path would reinterpret).
/// </summary>
public static class EpisodeIds
{
    /// <summary>The longest id accepted.</summary>
    public const int MaxLength = 128;

    /// <summary>The grammar in words, for error messages.</summary>
    public const string Rule = "1 to 128 ASCII letters, digits, '.', '_', ':' or '-', starting with a letter or digit";

    /// <summary>True when <paramref name="id"/> follows the grammar.</summary>
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength || !char.IsAsciiLetterOrDigit(id[0]))
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or ':' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Why <paramref name="id"/> is not an episode id, or null when it is one.</summary>
    public static string? Problem(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return "is empty; an episode id is " + Rule + ".";
        }

        if (id.Length > MaxLength)
        {
            return $"is {id.Length} characters long; an episode id is {Rule}.";
        }

        return IsValid(id) ? null : $"'{Shorten(id)}' is not an episode id: an episode id is {Rule}.";
    }

    private static string Shorten(string id)
    {
        var shown = id.Length <= 40 ? id : id[..40] + "...";
        return new string([.. shown.Select(c => char.IsControl(c) ? '?' : c)]);
    }
}
