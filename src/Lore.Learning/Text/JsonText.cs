namespace Lore.Learning.Text;

/// <summary>Model answers sometimes wrap JSON in one markdown code fence; removing exactly that fence is not parsing.</summary>
internal static class JsonText
{
    /// <summary>The text inside a single surrounding ``` or ```json fence, or the trimmed text when there is none.</summary>
    public static string StripFence(string text)
    {
        var trimmed = text.Trim();
        if (!trimmed.StartsWith("```", StringComparison.Ordinal) || !trimmed.EndsWith("```", StringComparison.Ordinal) || trimmed.Length < 6)
        {
            return trimmed;
        }

        var firstLineEnd = trimmed.IndexOf('\n', StringComparison.Ordinal);
        if (firstLineEnd < 0)
        {
            return trimmed;
        }

        var language = trimmed[3..firstLineEnd].Trim();
        if (language.Length > 0 && !language.Equals("json", StringComparison.OrdinalIgnoreCase))
        {
            return trimmed;
        }

        return trimmed[(firstLineEnd + 1)..^3].Trim();
    }
}
