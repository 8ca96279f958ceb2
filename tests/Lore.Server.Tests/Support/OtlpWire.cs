using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Lore.Server.Otlp;

namespace Lore.Server.Tests.Support;

/// <summary>
/// An independent OTLP encoder for tests (protobuf by field number with <see cref="CodedOutputStream"/>, and OTLP/JSON
/// with <see cref="Utf8JsonWriter"/>), and a canonical text of spans that keeps value types apart, for round trips.
/// </summary>
internal static class OtlpWire
{
    public static byte[] ToProtobuf(IReadOnlyList<OtlpSpan> spans)
        => Message(output =>
        {
            foreach (var group in Groups(spans))
            {
                output.WriteTag(1, WireFormat.WireType.LengthDelimited);
                output.WriteBytes(ByteString.CopyFrom(Message(rs =>
                {
                    // Scope spans first, resource after: the reader must not depend on field order.
                    rs.WriteTag(2, WireFormat.WireType.LengthDelimited);
                    rs.WriteBytes(ByteString.CopyFrom(Message(ss =>
                    {
                        ss.WriteTag(1, WireFormat.WireType.LengthDelimited);
                        ss.WriteBytes(ByteString.CopyFrom(Message(scope => { scope.WriteTag(1, WireFormat.WireType.LengthDelimited); scope.WriteString("test-scope"); })));
                        foreach (var span in group)
                        {
                            ss.WriteTag(2, WireFormat.WireType.LengthDelimited);
                            ss.WriteBytes(ByteString.CopyFrom(Span(span)));
                        }
                    })));
                    rs.WriteTag(1, WireFormat.WireType.LengthDelimited);
                    rs.WriteBytes(ByteString.CopyFrom(Message(resource => WriteAttributes(resource, 1, group[0].Resource))));
                })));
            }
        });

    public static string ToJson(IReadOnlyList<OtlpSpan> spans)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("resourceSpans");
            foreach (var group in Groups(spans))
            {
                w.WriteStartObject();
                w.WriteStartObject("resource");
                WriteJsonAttributes(w, "attributes", group[0].Resource);
                w.WriteEndObject();
                w.WriteStartArray("scopeSpans");
                w.WriteStartObject();
                w.WriteStartObject("scope");
                w.WriteString("name", "test-scope");
                w.WriteEndObject();
                w.WriteStartArray("spans");
                foreach (var span in group)
                {
                    w.WriteStartObject();
                    w.WriteString("traceId", span.TraceId);
                    w.WriteString("spanId", span.SpanId);
                    if (span.ParentSpanId.Length > 0)
                    {
                        w.WriteString("parentSpanId", span.ParentSpanId);
                    }

                    w.WriteString("name", span.Name);
                    w.WriteNumber("kind", span.Kind);
                    w.WriteString("startTimeUnixNano", span.StartTimeUnixNano.ToString(CultureInfo.InvariantCulture));
                    w.WriteString("endTimeUnixNano", span.EndTimeUnixNano.ToString(CultureInfo.InvariantCulture));
                    WriteJsonAttributes(w, "attributes", span.Attributes);
                    w.WriteStartArray("events");
                    foreach (var e in span.Events)
                    {
                        w.WriteStartObject();
                        w.WriteString("timeUnixNano", e.TimeUnixNano.ToString(CultureInfo.InvariantCulture));
                        w.WriteString("name", e.Name);
                        WriteJsonAttributes(w, "attributes", e.Attributes);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteStartObject("status");
                    if (span.StatusMessage is not null)
                    {
                        w.WriteString("message", span.StatusMessage);
                    }

                    w.WriteNumber("code", (int)span.StatusCode);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Spans as text with every value's type, resource included, in order.</summary>
    public static string Canonical(IEnumerable<OtlpSpan> spans)
    {
        var builder = new StringBuilder();
        foreach (var s in spans)
        {
            builder.Append(CultureInfo.InvariantCulture, $"span {s.TraceId}/{s.SpanId}<{s.ParentSpanId} '{s.Name}' k{s.Kind} {s.StartTimeUnixNano}-{s.EndTimeUnixNano} {s.StatusCode}:'{s.StatusMessage}'\n");
            builder.Append("  resource ").Append(Attributes(s.Resource)).Append('\n');
            builder.Append("  attributes ").Append(Attributes(s.Attributes)).Append('\n');
            foreach (var e in s.Events)
            {
                builder.Append(CultureInfo.InvariantCulture, $"  event '{e.Name}' {e.TimeUnixNano} ").Append(Attributes(e.Attributes)).Append('\n');
            }
        }

        return builder.ToString();
    }

    private static string Attributes(IReadOnlyList<OtlpAttribute> attributes) => "{" + string.Join(", ", attributes.Select(a => $"'{a.Key}': {Value(a.Value)}")) + "}";

    private static string Value(object? value) => value switch
    {
        null => "null",
        string s => $"s'{s}'",
        bool b => b ? "b:true" : "b:false",
        long l => "i:" + l.ToString(CultureInfo.InvariantCulture),
        double d => "d:" + d.ToString("R", CultureInfo.InvariantCulture),
        byte[] bytes => "x:" + Convert.ToHexString(bytes),
        IReadOnlyList<OtlpAttribute> map => "kv" + Attributes(map),
        IReadOnlyList<object?> list => "[" + string.Join(", ", list.Select(Value)) + "]",
        _ => throw new InvalidOperationException($"unexpected value type {value.GetType()}"),
    };

    private static List<List<OtlpSpan>> Groups(IReadOnlyList<OtlpSpan> spans)
    {
        var groups = new List<List<OtlpSpan>>();
        foreach (var span in spans)
        {
            if (groups.Count > 0 && ReferenceEquals(groups[^1][0].Resource, span.Resource))
            {
                groups[^1].Add(span);
            }
            else
            {
                groups.Add([span]);
            }
        }

        return groups;
    }

    private static byte[] Span(OtlpSpan span)
        => Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(Convert.FromHexString(span.TraceId)));
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(Convert.FromHexString(span.SpanId)));
            o.WriteTag(3, WireFormat.WireType.LengthDelimited);
            o.WriteString("rojo=00f067aa0ba902b7");
            if (span.ParentSpanId.Length > 0)
            {
                o.WriteTag(4, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(Convert.FromHexString(span.ParentSpanId)));
            }

            o.WriteTag(5, WireFormat.WireType.LengthDelimited);
            o.WriteString(span.Name);
            o.WriteTag(6, WireFormat.WireType.Varint);
            o.WriteEnum(span.Kind);
            o.WriteTag(7, WireFormat.WireType.Fixed64);
            o.WriteFixed64(span.StartTimeUnixNano);
            o.WriteTag(8, WireFormat.WireType.Fixed64);
            o.WriteFixed64(span.EndTimeUnixNano);
            WriteAttributes(o, 9, span.Attributes);
            o.WriteTag(10, WireFormat.WireType.Varint);
            o.WriteUInt32(0);
            foreach (var e in span.Events)
            {
                o.WriteTag(11, WireFormat.WireType.LengthDelimited);
                o.WriteBytes(ByteString.CopyFrom(Message(eo =>
                {
                    eo.WriteTag(1, WireFormat.WireType.Fixed64);
                    eo.WriteFixed64(e.TimeUnixNano);
                    eo.WriteTag(2, WireFormat.WireType.LengthDelimited);
                    eo.WriteString(e.Name);
                    WriteAttributes(eo, 3, e.Attributes);
                })));
            }

            o.WriteTag(15, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(Message(so =>
            {
                if (span.StatusMessage is not null)
                {
                    so.WriteTag(2, WireFormat.WireType.LengthDelimited);
                    so.WriteString(span.StatusMessage);
                }

                so.WriteTag(3, WireFormat.WireType.Varint);
                so.WriteEnum((int)span.StatusCode);
            })));
            o.WriteTag(16, WireFormat.WireType.Fixed32);
            o.WriteFixed32(1);
        });

    private static void WriteAttributes(CodedOutputStream output, int field, IReadOnlyList<OtlpAttribute> attributes)
    {
        foreach (var attribute in attributes)
        {
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(KeyValue(attribute)));
        }
    }

    private static byte[] KeyValue(OtlpAttribute attribute)
        => Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited);
            o.WriteString(attribute.Key);
            o.WriteTag(2, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(ByteString.CopyFrom(AnyValue(attribute.Value)));
        });

    private static byte[] AnyValue(object? value)
        => Message(o =>
        {
            switch (value)
            {
                case null:
                    break;
                case string s:
                    o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                    o.WriteString(s);
                    break;
                case bool b:
                    o.WriteTag(2, WireFormat.WireType.Varint);
                    o.WriteBool(b);
                    break;
                case long l:
                    o.WriteTag(3, WireFormat.WireType.Varint);
                    o.WriteInt64(l);
                    break;
                case double d:
                    o.WriteTag(4, WireFormat.WireType.Fixed64);
                    o.WriteDouble(d);
                    break;
                case byte[] bytes:
                    o.WriteTag(7, WireFormat.WireType.LengthDelimited);
                    o.WriteBytes(ByteString.CopyFrom(bytes));
                    break;
                case IReadOnlyList<OtlpAttribute> map:
                    o.WriteTag(6, WireFormat.WireType.LengthDelimited);
                    o.WriteBytes(ByteString.CopyFrom(Message(kv => WriteAttributes(kv, 1, map))));
                    break;
                case IReadOnlyList<object?> list:
                    o.WriteTag(5, WireFormat.WireType.LengthDelimited);
                    o.WriteBytes(ByteString.CopyFrom(Message(array =>
                    {
                        foreach (var item in list)
                        {
                            array.WriteTag(1, WireFormat.WireType.LengthDelimited);
                            array.WriteBytes(ByteString.CopyFrom(AnyValue(item)));
                        }
                    })));
                    break;
            }
        });

    private static void WriteJsonAttributes(Utf8JsonWriter w, string name, IReadOnlyList<OtlpAttribute> attributes)
    {
        w.WriteStartArray(name);
        foreach (var attribute in attributes)
        {
            w.WriteStartObject();
            w.WriteString("key", attribute.Key);
            w.WritePropertyName("value");
            WriteJsonValue(w, attribute.Value);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void WriteJsonValue(Utf8JsonWriter w, object? value)
    {
        w.WriteStartObject();
        switch (value)
        {
            case null:
                break;
            case string s:
                w.WriteString("stringValue", s);
                break;
            case bool b:
                w.WriteBoolean("boolValue", b);
                break;
            case long l:
                w.WriteString("intValue", l.ToString(CultureInfo.InvariantCulture));
                break;
            case double d:
                w.WriteNumber("doubleValue", d);
                break;
            case byte[] bytes:
                w.WriteBase64String("bytesValue", bytes);
                break;
            case IReadOnlyList<OtlpAttribute> map:
                w.WriteStartObject("kvlistValue");
                WriteJsonAttributes(w, "values", map);
                w.WriteEndObject();
                break;
            case IReadOnlyList<object?> list:
                w.WriteStartObject("arrayValue");
                w.WriteStartArray("values");
                foreach (var item in list)
                {
                    WriteJsonValue(w, item);
                }

                w.WriteEndArray();
                w.WriteEndObject();
                break;
        }

        w.WriteEndObject();
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        write(output);
        output.Flush();
        return stream.ToArray();
    }
}
