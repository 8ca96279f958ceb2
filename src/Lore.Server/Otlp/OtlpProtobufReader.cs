using System.Runtime.InteropServices;
using Google.Protobuf;

namespace Lore.Server.Otlp;

/// <summary>
/// Decodes an OTLP <c>ExportTraceServiceRequest</c> (opentelemetry-proto, <c>collector/trace/v1</c>) by field number,
/// reading only what the receiver uses; unknown fields (and known ones with an unexpected wire type, as generated
/// parsers do) are skipped. Field numbers:
/// <code>
/// ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
/// ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
/// Resource      { repeated KeyValue attributes = 1; }
/// ScopeSpans    { InstrumentationScope scope = 1; repeated Span spans = 2; }
/// Span          { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6;
///                 fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9;
///                 repeated Event events = 11; Status status = 15; }
/// Event         { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
/// Status        { string message = 2; StatusCode code = 3; }
/// KeyValue      { string key = 1; AnyValue value = 2; }
/// AnyValue      { oneof { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
///                         ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
/// ArrayValue    { repeated AnyValue values = 1; }   KeyValueList { repeated KeyValue values = 1; }
/// ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
/// ExportTracePartialSuccess  { int64 rejected_spans = 1; string error_message = 2; }
/// </code>
/// </summary>
internal static class OtlpProtobufReader
{
    /// <summary>Nested attribute values deeper than this are refused (a hostile body must not exhaust the stack).</summary>
    private const int MaxDepth = 32;

    public static List<OtlpSpan> Read(ReadOnlyMemory<byte> body)
    {
        var spans = new List<OtlpSpan>();
        try
        {
            var input = Open(body);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                if (Is(tag, 1, WireFormat.WireType.LengthDelimited))
                {
                    ReadResourceSpans(Nested(input), spans);
                }
                else
                {
                    input.SkipLastField();
                }
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OtlpFormatException("resourceSpans", $"the body is not a valid OTLP ExportTraceServiceRequest: {e.Message}", e);
        }

        return spans;
    }

    /// <summary>An <c>ExportTraceServiceResponse</c>: empty when everything was accepted, else a partial success.</summary>
    public static byte[] WriteResponse(long rejectedSpans, string? errorMessage)
    {
        if (rejectedSpans == 0 && string.IsNullOrEmpty(errorMessage))
        {
            return [];
        }

        var partial = new MemoryStream();
        var inner = new CodedOutputStream(partial);
        if (rejectedSpans != 0)
        {
            inner.WriteTag(1, WireFormat.WireType.Varint);
            inner.WriteInt64(rejectedSpans);
        }

        if (!string.IsNullOrEmpty(errorMessage))
        {
            inner.WriteTag(2, WireFormat.WireType.LengthDelimited);
            inner.WriteString(errorMessage);
        }

        inner.Flush();
        var result = new MemoryStream();
        var outer = new CodedOutputStream(result);
        outer.WriteTag(1, WireFormat.WireType.LengthDelimited);
        outer.WriteBytes(ByteString.CopyFrom(partial.ToArray()));
        outer.Flush();
        return result.ToArray();
    }

    private static void ReadResourceSpans(CodedInputStream input, List<OtlpSpan> spans)
    {
        IReadOnlyList<OtlpAttribute> resource = [];
        var scopes = new List<ReadOnlyMemory<byte>>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Is(tag, 1, WireFormat.WireType.LengthDelimited))
            {
                resource = ReadResource(Nested(input));
            }
            else if (Is(tag, 2, WireFormat.WireType.LengthDelimited))
            {
                // The resource may come after its spans on the wire; read the spans once it is known.
                scopes.Add(input.ReadBytes().Memory);
            }
            else
            {
                input.SkipLastField();
            }
        }

        foreach (var scope in scopes)
        {
            ReadScopeSpans(Open(scope), resource, spans);
        }
    }

    private static List<OtlpAttribute> ReadResource(CodedInputStream input)
    {
        var attributes = new List<OtlpAttribute>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Is(tag, 1, WireFormat.WireType.LengthDelimited))
            {
                attributes.Add(ReadKeyValue(Nested(input), 0));
            }
            else
            {
                input.SkipLastField();
            }
        }

        return attributes;
    }

    private static void ReadScopeSpans(CodedInputStream input, IReadOnlyList<OtlpAttribute> resource, List<OtlpSpan> spans)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Is(tag, 2, WireFormat.WireType.LengthDelimited))
            {
                spans.Add(ReadSpan(Nested(input)) with { Resource = resource });
            }
            else
            {
                input.SkipLastField();
            }
        }
    }

    private static OtlpSpan ReadSpan(CodedInputStream input)
    {
        string traceId = "", spanId = "", parentSpanId = "", name = "";
        string? statusMessage = null;
        var kind = 0;
        ulong start = 0, end = 0;
        var status = OtlpStatusCode.Unset;
        var attributes = new List<OtlpAttribute>();
        var events = new List<OtlpEvent>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    traceId = Convert.ToHexStringLower(input.ReadBytes().Span);
                    break;
                case 2 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    spanId = Convert.ToHexStringLower(input.ReadBytes().Span);
                    break;
                case 4 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    parentSpanId = Convert.ToHexStringLower(input.ReadBytes().Span);
                    break;
                case 5 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    name = input.ReadString();
                    break;
                case 6 when IsType(tag, WireFormat.WireType.Varint):
                    kind = input.ReadEnum();
                    break;
                case 7 when IsType(tag, WireFormat.WireType.Fixed64):
                    start = input.ReadFixed64();
                    break;
                case 8 when IsType(tag, WireFormat.WireType.Fixed64):
                    end = input.ReadFixed64();
                    break;
                case 9 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    attributes.Add(ReadKeyValue(Nested(input), 0));
                    break;
                case 11 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    events.Add(ReadEvent(Nested(input)));
                    break;
                case 15 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    (status, statusMessage) = ReadStatus(Nested(input));
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return new OtlpSpan
        {
            TraceId = traceId,
            SpanId = spanId,
            ParentSpanId = parentSpanId,
            Name = name,
            Kind = kind,
            StartTimeUnixNano = start,
            EndTimeUnixNano = end,
            Attributes = attributes,
            Events = events,
            StatusCode = status,
            StatusMessage = statusMessage,
        };
    }

    private static OtlpEvent ReadEvent(CodedInputStream input)
    {
        ulong time = 0;
        var name = "";
        var attributes = new List<OtlpAttribute>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when IsType(tag, WireFormat.WireType.Fixed64):
                    time = input.ReadFixed64();
                    break;
                case 2 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    name = input.ReadString();
                    break;
                case 3 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    attributes.Add(ReadKeyValue(Nested(input), 0));
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return new OtlpEvent(name, time, attributes);
    }

    private static (OtlpStatusCode, string?) ReadStatus(CodedInputStream input)
    {
        var code = OtlpStatusCode.Unset;
        string? message = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Is(tag, 2, WireFormat.WireType.LengthDelimited))
            {
                message = input.ReadString();
            }
            else if (Is(tag, 3, WireFormat.WireType.Varint))
            {
                var value = input.ReadEnum();
                code = value is >= 0 and <= 2 ? (OtlpStatusCode)value : OtlpStatusCode.Unset;
            }
            else
            {
                input.SkipLastField();
            }
        }

        return (code, string.IsNullOrEmpty(message) ? null : message);
    }

    private static OtlpAttribute ReadKeyValue(CodedInputStream input, int depth)
    {
        var key = "";
        object? value = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Is(tag, 1, WireFormat.WireType.LengthDelimited))
            {
                key = input.ReadString();
            }
            else if (Is(tag, 2, WireFormat.WireType.LengthDelimited))
            {
                value = ReadAnyValue(Nested(input), depth + 1);
            }
            else
            {
                input.SkipLastField();
            }
        }

        return new OtlpAttribute(key, value);
    }

    private static object? ReadAnyValue(CodedInputStream input, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new OtlpFormatException("attributes", $"an attribute value is nested deeper than {MaxDepth} levels.");
        }

        object? value = null;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    value = input.ReadString();
                    break;
                case 2 when IsType(tag, WireFormat.WireType.Varint):
                    value = input.ReadBool();
                    break;
                case 3 when IsType(tag, WireFormat.WireType.Varint):
                    value = input.ReadInt64();
                    break;
                case 4 when IsType(tag, WireFormat.WireType.Fixed64):
                    value = input.ReadDouble();
                    break;
                case 5 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    value = ReadArray(Nested(input), depth);
                    break;
                case 6 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    value = ReadKeyValueList(Nested(input), depth);
                    break;
                case 7 when IsType(tag, WireFormat.WireType.LengthDelimited):
                    value = input.ReadBytes().ToByteArray();
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }

        return value;
    }

    private static List<object?> ReadArray(CodedInputStream input, int depth)
    {
        var values = new List<object?>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Is(tag, 1, WireFormat.WireType.LengthDelimited))
            {
                values.Add(ReadAnyValue(Nested(input), depth + 1));
            }
            else
            {
                input.SkipLastField();
            }
        }

        return values;
    }

    private static List<OtlpAttribute> ReadKeyValueList(CodedInputStream input, int depth)
    {
        var values = new List<OtlpAttribute>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (Is(tag, 1, WireFormat.WireType.LengthDelimited))
            {
                values.Add(ReadKeyValue(Nested(input), depth + 1));
            }
            else
            {
                input.SkipLastField();
            }
        }

        return values;
    }

    private static bool Is(uint tag, int field, WireFormat.WireType type) => WireFormat.GetTagFieldNumber(tag) == field && IsType(tag, type);

    private static bool IsType(uint tag, WireFormat.WireType type) => WireFormat.GetTagWireType(tag) == type;

    /// <summary>A reader over the length-delimited field just tagged (its bytes, without copying when possible).</summary>
    private static CodedInputStream Nested(CodedInputStream input) => Open(input.ReadBytes().Memory);

    private static CodedInputStream Open(ReadOnlyMemory<byte> bytes)
        => MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new CodedInputStream(segment.Array!, segment.Offset, segment.Count)
            : new CodedInputStream(bytes.ToArray());
}
