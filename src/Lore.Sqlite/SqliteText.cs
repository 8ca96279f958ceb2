using System.Globalization;
using System.Text.Json;

namespace Lore.Sqlite;

/// <summary>How values become column text and back: times as ISO-8601 (exact to the tick, offset kept), records as LoreJson.</summary>
internal static class SqliteText
{
    private const string TimeFormat = "O";

    /// <summary>The time with the offset it was given, exact to the tick.</summary>
    public static string FromTime(DateTimeOffset value) => value.ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>The time in UTC, so that text order is time order (for columns a query sorts on).</summary>
    public static string FromTimeUtc(DateTimeOffset value) => value.ToUniversalTime().ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static object FromTimeOrNull(DateTimeOffset? value) => value is { } v ? FromTime(v) : DBNull.Value;

    public static DateTimeOffset ToTime(string text)
        => DateTimeOffset.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None);

    public static object OrNull(string? value) => value is null ? DBNull.Value : value;

    public static string Json<T>(T value) => JsonSerializer.Serialize(value, LoreJson.Options);

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

    /// <summary>The enum value as LoreJson spells it (camelCase), so columns and JSON agree.</summary>
    public static string Name<TEnum>(TEnum value)
        where TEnum : struct, Enum
        => JsonNamingPolicy.CamelCase.ConvertName(value.ToString());
}
