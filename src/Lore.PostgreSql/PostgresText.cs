using System.Globalization;
using System.Text.Json;

namespace Lore.PostgreSql;

/// <summary>
/// How values become column text and back, exactly as the SQLite store does it: times as ISO-8601 (exact to the tick,
/// offset kept), records as LoreJson, enum values in LoreJson's camelCase.
/// </summary>
internal static class PostgresText
{
    private const string TimeFormat = "O";

    /// <summary>The time with the offset it was given, exact to the tick.</summary>
    public static string FromTime(DateTimeOffset value) => value.ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>The time in UTC, so that text order is time order (for columns a query sorts on).</summary>
    public static string FromTimeUtc(DateTimeOffset value) => value.ToUniversalTime().ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset ToTime(string text)
        => DateTimeOffset.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None);

    public static string Json<T>(T value) => JsonSerializer.Serialize(value, LoreJson.Options);

    /// <summary>Reads UTF-8 JSON (the hot read path: no string is made); <paramref name="describe"/> names the row only when it is unreadable.</summary>
    public static T FromJson<T, TKey>(ReadOnlySpan<byte> utf8Json, Func<TKey, string> describe, TKey key)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(utf8Json, LoreJson.Options)
                ?? throw new InvalidDataException($"{describe(key)} is stored as JSON null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{describe(key)} has unreadable JSON: {e.Message}", e);
        }
    }

    /// <summary>Reads a JSON column, naming what was being read when the text is not a valid record.</summary>
    public static T FromJson<T>(string json, string what)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, LoreJson.Options)
                ?? throw new InvalidDataException($"{what} is stored as JSON null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{what} has unreadable JSON: {e.Message}", e);
        }
    }

    /// <summary>The enum value as LoreJson spells it (camelCase), so columns and JSON agree.</summary>
    public static string Name<TEnum>(TEnum value)
        where TEnum : struct, Enum
        => JsonNamingPolicy.CamelCase.ConvertName(value.ToString());

    /// <summary>The first day of the UTC month <paramref name="time"/> falls in: the partition an episode's rows live in.</summary>
    public static DateOnly MonthOf(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return new DateOnly(utc.Year, utc.Month, 1);
    }

    /// <summary>A SQL identifier in double quotes, for names that come from configuration (the schema).</summary>
    public static string QuoteIdentifier(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
