using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Lore.Server.Otlp;

/// <summary>A request body the receiver cannot read; <see cref="Field"/> names where (for the problem response).</summary>
internal sealed class OtlpFormatException(string field, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Field { get; } = field;
}

/// <summary>OTLP span status codes.</summary>
internal enum OtlpStatusCode
{
    Unset = 0,
    Ok = 1,
    Error = 2,
}

/// <summary>
/// An OTLP attribute value (<c>AnyValue</c>): a string, bool, long, double, byte[], a list of values or a list of
/// key-values. Held as <see cref="object"/>; <see cref="OtlpValues"/> reads it as text or JSON.
/// </summary>
internal sealed record OtlpAttribute(string Key, object? Value);

/// <summary>A span event (for example the older <c>gen_ai.content.prompt</c> or <c>gen_ai.user.message</c> forms).</summary>
internal sealed record OtlpEvent(string Name, ulong TimeUnixNano, IReadOnlyList<OtlpAttribute> Attributes);

/// <summary>The part of an OTLP span the receiver reads; ids are lowercase hex (empty when absent).</summary>
internal sealed record OtlpSpan
{
    public string TraceId { get; init; } = "";

    public string SpanId { get; init; } = "";

    public string ParentSpanId { get; init; } = "";

    public string Name { get; init; } = "";

    public int Kind { get; init; }

    public ulong StartTimeUnixNano { get; init; }

    public ulong EndTimeUnixNano { get; init; }

    public IReadOnlyList<OtlpAttribute> Attributes { get; init; } = [];

    public IReadOnlyList<OtlpEvent> Events { get; init; } = [];

    public OtlpStatusCode StatusCode { get; init; }

    public string? StatusMessage { get; init; }

    /// <summary>The attributes of the resource that produced the span (service.name, ...).</summary>
    public IReadOnlyList<OtlpAttribute> Resource { get; init; } = [];
}

/// <summary>Reading attribute values the way the semantic conventions use them.</summary>
internal static class OtlpValues
{
    /// <summary>The value of the first attribute with this key, or null.</summary>
    public static object? Find(IReadOnlyList<OtlpAttribute> attributes, string key)
    {
        foreach (var attribute in attributes)
        {
            if (string.Equals(attribute.Key, key, StringComparison.Ordinal))
            {
                return attribute.Value;
            }
        }

        return null;
    }

    /// <summary>A value as text: strings as they are, numbers invariant, anything structured as JSON.</summary>
    public static string? Text(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => Json(value),
    };

    /// <summary>A value as JSON text (a string value that already holds JSON is returned as it is).</summary>
    public static string Json(object? value)
    {
        if (value is string s)
        {
            return s;
        }

        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, value, 0);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>A number attribute (int, double, or a numeric string), or null.</summary>
    public static double? Number(object? value) => value switch
    {
        long l => l,
        double d => d,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => null,
    };

    private static void Write(Utf8JsonWriter writer, object? value, int depth)
    {
        if (depth > 64)
        {
            writer.WriteNullValue();
            return;
        }

        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumberValue(d);
                break;
            case double d:
                writer.WriteStringValue(d.ToString(CultureInfo.InvariantCulture));
                break;
            case byte[] bytes:
                writer.WriteBase64StringValue(bytes);
                break;
            case IReadOnlyList<OtlpAttribute> map:
                writer.WriteStartObject();
                foreach (var entry in map)
                {
                    writer.WritePropertyName(entry.Key);
                    Write(writer, entry.Value, depth + 1);
                }

                writer.WriteEndObject();
                break;
            case IReadOnlyList<object?> list:
                writer.WriteStartArray();
                foreach (var item in list)
                {
                    Write(writer, item, depth + 1);
                }

                writer.WriteEndArray();
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }
}
