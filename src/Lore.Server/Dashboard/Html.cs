using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Lore.Server.Dashboard;

/// <summary>
/// Markup that is safe to write as is: it was built by <see cref="H.Of"/>, whose interpolated values are all
/// HTML-encoded. Lesson texts, task texts, tool results and audit reasons are hostile input; the only way to put
/// them on a page is as an interpolated value, so they can never become markup.
/// </summary>
internal readonly record struct Html(string Value)
{
    public static Html Empty { get; } = new("");

    public override string ToString() => Value ?? "";
}

/// <summary>Builds <see cref="Html"/> from an interpolated string: literals are markup, every value is encoded (other <see cref="Html"/> is kept).</summary>
[InterpolatedStringHandler]
internal ref struct HtmlInterpolation
{
    private readonly StringBuilder _builder;

    public HtmlInterpolation(int literalLength, int formattedCount)
        => _builder = new StringBuilder(literalLength + (formattedCount * 24));

    public readonly void AppendLiteral(string literal) => _builder.Append(literal);

    public readonly void AppendFormatted(Html value) => _builder.Append(value.Value);

    public readonly void AppendFormatted(IEnumerable<Html> values)
    {
        foreach (var value in values)
        {
            _builder.Append(value.Value);
        }
    }

    public readonly void AppendFormatted(string? value) => _builder.Append(H.Encode(value));

    public readonly void AppendFormatted<T>(T value) => AppendFormatted(value, format: null);

    public readonly void AppendFormatted<T>(T value, string? format)
    {
        // A List<Html> or Html[] binds here rather than to the IEnumerable<Html> overload: it is markup all the same.
        if (value is Html html)
        {
            AppendFormatted(html);
            return;
        }

        if (value is IEnumerable<Html> parts)
        {
            AppendFormatted(parts);
            return;
        }

        var text = value switch
        {
            null => "",
            IFormattable formattable => formattable.ToString(format, CultureInfo.InvariantCulture),
            _ => value.ToString(),
        };
        _builder.Append(H.Encode(text));
    }

    public readonly Html ToHtml() => new(_builder.ToString());
}

/// <summary>The dashboard's markup helpers; everything that is not a literal is encoded.</summary>
internal static class H
{
    // Keeps non-ASCII letters readable in the page source; still encodes < > & " ' + and every control character.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    public static Html Of(ref HtmlInterpolation markup) => markup.ToHtml();

    public static string Encode(string? text) => string.IsNullOrEmpty(text) ? "" : Encoder.Encode(text);

    public static Html Text(string? text) => new(Encode(text));

    public static Html Join(IEnumerable<Html> parts) => new(string.Concat(parts.Select(p => p.Value)));

    public static Html When(bool condition, Html markup) => condition ? markup : Html.Empty;

    /// <summary>A time as the dashboard shows it everywhere: UTC, to the second, with the full instant in the tooltip.</summary>
    public static Html Time(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return Of($"<time datetime=\"{utc.ToString("O", CultureInfo.InvariantCulture)}\" title=\"{utc.ToString("O", CultureInfo.InvariantCulture)}\">{utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}</time>");
    }

    public static string Percent(double rate) => rate.ToString("0.0 %", CultureInfo.InvariantCulture);

    /// <summary>Cuts long text for a table cell; the whole text stays in the tooltip.</summary>
    public static Html Short(string? text, int max)
    {
        text ??= "";
        return text.Length <= max ? Text(text) : Of($"<span title=\"{text}\">{text[..max]}…</span>");
    }

    /// <summary>A link to a dashboard path built from encoded segments (ids are user-controlled text too).</summary>
    public static string Path(params string[] segments)
        => "/dashboard/" + string.Join('/', segments.Select(Uri.EscapeDataString));
}
