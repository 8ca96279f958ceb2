using System.Globalization;
using System.Text.Json;

namespace Lore.Server.Otlp;

/// <summary>
/// Decodes the OTLP/JSON encoding of an <c>ExportTraceServiceRequest</c>: the protobuf JSON mapping with OTLP's
/// exceptions (trace and span ids as hex, not base64; enums as integers). Field names are lowerCamelCase (the proto
/// names in snake_case are accepted too), 64-bit integers are strings or numbers, unknown fields are ignored.
/// </summary>
internal static class OtlpJsonReader
{
    private const int MaxDepth = 32;

    public static List<OtlpSpan> Read(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 128 });
        }
        catch (JsonException e)
        {
            throw new OtlpFormatException("$", $"the body is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new OtlpFormatException("$", "the body must be a JSON object (an OTLP ExportTraceServiceRequest).");
            }

            var spans = new List<OtlpSpan>();
            var resourceSpans = Property(root, "resourceSpans", "resource_spans");
            if (resourceSpans is null)
            {
                return spans;
            }

            var rsList = Array(resourceSpans.Value, "resourceSpans");
            for (var r = 0; r < rsList.Count; r++)
            {
                var rs = rsList[r];
                var rsPath = $"resourceSpans[{r}]";
                Expect(rs, JsonValueKind.Object, rsPath);
                IReadOnlyList<OtlpAttribute> resource = [];
                if (Property(rs, "resource") is { } resourceElement)
                {
                    Expect(resourceElement, JsonValueKind.Object, rsPath + ".resource");
                    resource = Attributes(resourceElement, rsPath + ".resource.attributes");
                }

                if (Property(rs, "scopeSpans", "scope_spans") is not { } scopeSpans)
                {
                    continue;
                }

                var ssList = Array(scopeSpans, rsPath + ".scopeSpans");
                for (var s = 0; s < ssList.Count; s++)
                {
                    var ssPath = $"{rsPath}.scopeSpans[{s}]";
                    Expect(ssList[s], JsonValueKind.Object, ssPath);
                    if (Property(ssList[s], "spans") is not { } spanArray)
                    {
                        continue;
                    }

                    var list = Array(spanArray, ssPath + ".spans");
                    for (var i = 0; i < list.Count; i++)
                    {
                        spans.Add(ReadSpan(list[i], $"{ssPath}.spans[{i}]") with { Resource = resource });
                    }
                }
            }

            return spans;
        }
    }

    /// <summary>The JSON <c>ExportTraceServiceResponse</c>: <c>{}</c>, or a <c>partialSuccess</c>.</summary>
    public static string WriteResponse(long rejectedSpans, string? errorMessage)
    {
        if (rejectedSpans == 0 && string.IsNullOrEmpty(errorMessage))
        {
            return "{}";
        }

        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("partialSuccess");
            if (rejectedSpans != 0)
            {
                writer.WriteString("rejectedSpans", rejectedSpans.ToString(CultureInfo.InvariantCulture));
            }

            if (!string.IsNullOrEmpty(errorMessage))
            {
                writer.WriteString("errorMessage", errorMessage);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static OtlpSpan ReadSpan(JsonElement span, string path)
    {
        Expect(span, JsonValueKind.Object, path);
        var statusCode = OtlpStatusCode.Unset;
        string? statusMessage = null;
        if (Property(span, "status") is { } status)
        {
            Expect(status, JsonValueKind.Object, path + ".status");
            statusCode = Property(status, "code") is { } code ? ReadStatusCode(code, path + ".status.code") : OtlpStatusCode.Unset;
            statusMessage = Property(status, "message") is { ValueKind: JsonValueKind.String } m && m.GetString() is { Length: > 0 } text ? text : null;
        }

        var events = new List<OtlpEvent>();
        if (Property(span, "events") is { } eventArray)
        {
            var list = Array(eventArray, path + ".events");
            for (var i = 0; i < list.Count; i++)
            {
                var eventPath = $"{path}.events[{i}]";
                Expect(list[i], JsonValueKind.Object, eventPath);
                events.Add(new OtlpEvent(
                    String(list[i], eventPath, "name"),
                    UInt64(list[i], eventPath, "timeUnixNano", "time_unix_nano"),
                    Attributes(list[i], eventPath + ".attributes")));
            }
        }

        return new OtlpSpan
        {
            TraceId = HexId(span, path, 32, "traceId", "trace_id"),
            SpanId = HexId(span, path, 16, "spanId", "span_id"),
            ParentSpanId = HexId(span, path, 16, "parentSpanId", "parent_span_id"),
            Name = String(span, path, "name"),
            Kind = Property(span, "kind") is { } kind ? ReadKind(kind, path + ".kind") : 0,
            StartTimeUnixNano = UInt64(span, path, "startTimeUnixNano", "start_time_unix_nano"),
            EndTimeUnixNano = UInt64(span, path, "endTimeUnixNano", "end_time_unix_nano"),
            Attributes = Attributes(span, path + ".attributes"),
            Events = events,
            StatusCode = statusCode,
            StatusMessage = statusMessage,
        };
    }

    private static List<OtlpAttribute> Attributes(JsonElement owner, string path)
    {
        var attributes = new List<OtlpAttribute>();
        var element = Property(owner, "attributes");
        if (element is null)
        {
            return attributes;
        }

        var list = Array(element.Value, path);
        for (var i = 0; i < list.Count; i++)
        {
            attributes.Add(KeyValue(list[i], $"{path}[{i}]", 0));
        }

        return attributes;
    }

    private static OtlpAttribute KeyValue(JsonElement element, string path, int depth)
    {
        Expect(element, JsonValueKind.Object, path);
        var key = String(element, path, "key");
        var value = Property(element, "value") is { } v ? AnyValue(v, path + ".value", depth + 1) : null;
        return new OtlpAttribute(key, value);
    }

    private static object? AnyValue(JsonElement element, string path, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new OtlpFormatException(path, $"{path} is nested deeper than {MaxDepth} levels.");
        }

        if (element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        Expect(element, JsonValueKind.Object, path);
        foreach (var property in element.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "stringValue" or "string_value":
                    Expect(value, JsonValueKind.String, $"{path}.stringValue");
                    return value.GetString();
                case "boolValue" or "bool_value":
                    if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        throw new OtlpFormatException($"{path}.boolValue", $"{path}.boolValue must be true or false.");
                    }

                    return value.GetBoolean();
                case "intValue" or "int_value":
                    return Int64(value, $"{path}.intValue");
                case "doubleValue" or "double_value":
                    return Double(value, $"{path}.doubleValue");
                case "bytesValue" or "bytes_value":
                    Expect(value, JsonValueKind.String, $"{path}.bytesValue");
                    try
                    {
                        return value.GetBytesFromBase64();
                    }
                    catch (FormatException e)
                    {
                        throw new OtlpFormatException($"{path}.bytesValue", $"{path}.bytesValue is not base64.", e);
                    }

                case "arrayValue" or "array_value":
                    Expect(value, JsonValueKind.Object, $"{path}.arrayValue");
                    var values = new List<object?>();
                    if (Property(value, "values") is { } items)
                    {
                        var list = Array(items, $"{path}.arrayValue.values");
                        for (var i = 0; i < list.Count; i++)
                        {
                            values.Add(AnyValue(list[i], $"{path}.arrayValue.values[{i}]", depth + 1));
                        }
                    }

                    return values;
                case "kvlistValue" or "kvlist_value":
                    Expect(value, JsonValueKind.Object, $"{path}.kvlistValue");
                    var entries = new List<OtlpAttribute>();
                    if (Property(value, "values") is { } pairs)
                    {
                        var list = Array(pairs, $"{path}.kvlistValue.values");
                        for (var i = 0; i < list.Count; i++)
                        {
                            entries.Add(KeyValue(list[i], $"{path}.kvlistValue.values[{i}]", depth + 1));
                        }
                    }

                    return entries;
            }
        }

        return null;
    }

    private static string HexId(JsonElement span, string path, int length, params string[] names)
    {
        if (Property(span, names) is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return "";
        }

        Expect(element, JsonValueKind.String, $"{path}.{names[0]}");
        var text = element.GetString()!;
        if (text.Length == 0)
        {
            return "";
        }

        if (text.Length != length || !text.All(char.IsAsciiHexDigit))
        {
            throw new OtlpFormatException($"{path}.{names[0]}", $"{path}.{names[0]} must be {length} hex digits (OTLP/JSON ids are hex, not base64).");
        }

        return text.ToLowerInvariant();
    }

    private static int ReadKind(JsonElement element, string path) => element.ValueKind switch
    {
        JsonValueKind.Number when element.TryGetInt32(out var n) => n,
        JsonValueKind.String => element.GetString() switch
        {
            "SPAN_KIND_INTERNAL" => 1,
            "SPAN_KIND_SERVER" => 2,
            "SPAN_KIND_CLIENT" => 3,
            "SPAN_KIND_PRODUCER" => 4,
            "SPAN_KIND_CONSUMER" => 5,
            _ => 0,
        },
        _ => throw new OtlpFormatException(path, $"{path} must be an integer."),
    };

    private static OtlpStatusCode ReadStatusCode(JsonElement element, string path) => element.ValueKind switch
    {
        JsonValueKind.Number when element.TryGetInt32(out var n) => n is >= 0 and <= 2 ? (OtlpStatusCode)n : OtlpStatusCode.Unset,
        JsonValueKind.String => element.GetString() switch
        {
            "STATUS_CODE_OK" => OtlpStatusCode.Ok,
            "STATUS_CODE_ERROR" => OtlpStatusCode.Error,
            _ => OtlpStatusCode.Unset,
        },
        _ => throw new OtlpFormatException(path, $"{path} must be an integer."),
    };

    private static ulong UInt64(JsonElement owner, string path, params string[] names)
    {
        if (Property(owner, names) is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return 0;
        }

        if (element.ValueKind == JsonValueKind.String && ulong.TryParse(element.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        if (element.ValueKind == JsonValueKind.Number && element.TryGetUInt64(out var number))
        {
            return number;
        }

        throw new OtlpFormatException($"{path}.{names[0]}", $"{path}.{names[0]} must be an unsigned 64-bit integer (a string or a number).");
    }

    private static long Int64(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.String && long.TryParse(element.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        if (element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var number))
        {
            return number;
        }

        throw new OtlpFormatException(path, $"{path} must be a 64-bit integer (a string or a number).");
    }

    private static double Double(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Number)
        {
            return element.GetDouble();
        }

        if (element.ValueKind == JsonValueKind.String)
        {
            switch (element.GetString())
            {
                case "NaN":
                    return double.NaN;
                case "Infinity":
                    return double.PositiveInfinity;
                case "-Infinity":
                    return double.NegativeInfinity;
                case var s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                    return parsed;
            }
        }

        throw new OtlpFormatException(path, $"{path} must be a number.");
    }

    private static string String(JsonElement owner, string path, string name)
    {
        if (Property(owner, name) is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return "";
        }

        Expect(element, JsonValueKind.String, $"{path}.{name}");
        return element.GetString()!;
    }

    private static JsonElement? Property(JsonElement owner, params string[] names)
    {
        foreach (var name in names)
        {
            if (owner.TryGetProperty(name, out var value))
            {
                return value;
            }
        }

        return null;
    }

    private static List<JsonElement> Array(JsonElement element, string path)
    {
        if (element.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        Expect(element, JsonValueKind.Array, path);
        return [.. element.EnumerateArray()];
    }

    private static void Expect(JsonElement element, JsonValueKind kind, string path)
    {
        if (element.ValueKind != kind)
        {
            throw new OtlpFormatException(path, $"{path} must be {(kind == JsonValueKind.Object ? "an object" : kind == JsonValueKind.Array ? "an array" : "a " + kind.ToString().ToLowerInvariant())}, not {element.ValueKind.ToString().ToLowerInvariant()}.");
        }
    }
}
