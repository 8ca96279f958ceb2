using CsCheck;
using Lore.Server.Otlp;
using Lore.Server.Tests.Support;
using Lore.Testing;
using Xunit;

namespace Lore.Server.Tests.Otlp;

/// <summary>The OTLP decoders against an independent encoder: whatever spans are encoded, both encodings decode to exactly them.</summary>
public sealed class OtlpDecodingProperties
{
    private static readonly Gen<string> Text = Gen.String[Gen.OneOf(Gen.Char.AlphaNumeric, Gen.OneOf(Gen.Const(' '), Gen.Const('é'), Gen.Const('漢'), Gen.Const('"'), Gen.Const('\n'))), 0, 12];

    private static readonly Gen<string> Key = Gen.OneOf(
        Gen.OneOf(Gen.Const("gen_ai.operation.name"), Gen.Const("gen_ai.input.messages"), Gen.Const("llm.input_messages.0.message.role"), Gen.Const("tool.name")),
        Gen.String[Gen.Char.AlphaNumeric, 1, 10]);

    private static readonly Gen<object?> Scalar = Gen.OneOf<object?>(
        Text.Select(s => (object?)s),
        Gen.Bool.Select(b => (object?)b),
        Gen.Long.Select(l => (object?)l),
        Gen.Double.Where(double.IsFinite).Select(d => (object?)d),
        Gen.Byte.Array[0, 6].Select(b => (object?)b),
        Gen.Bool.Select(_ => (object?)null));

    private static readonly Gen<OtlpSpan> Span =
        from trace in Gen.Byte.Array[16].Select(Convert.ToHexStringLower)
        from span in Gen.Byte.Array[8].Select(Convert.ToHexStringLower)
        from parent in Gen.OneOf(Gen.Const(""), Gen.Byte.Array[8].Select(Convert.ToHexStringLower))
        from name in Text
        from kind in Gen.Int[0, 5]
        from start in Gen.ULong
        from end in Gen.ULong
        from attributes in Attributes(2)
        from events in Gen.Select(Text, Gen.ULong, Attributes(1), (n, time, a) => new OtlpEvent(n, time, a)).List[0, 3]
        from code in Gen.Int[0, 2]
        from message in Gen.OneOf(Gen.Bool.Select(_ => (string?)null), Text.Where(t => t.Length > 0).Select(t => (string?)t))
        select new OtlpSpan
        {
            TraceId = trace,
            SpanId = span,
            ParentSpanId = parent,
            Name = name,
            Kind = kind,
            StartTimeUnixNano = start,
            EndTimeUnixNano = end,
            Attributes = attributes,
            Events = events,
            StatusCode = (OtlpStatusCode)code,
            StatusMessage = message,
        };

    private static readonly Gen<List<OtlpSpan>> Export =
        from resources in Attributes(1).List[1, 3]
        from spans in Gen.Select(Span, Gen.Int[0, 2]).List[0, 6]
        select spans.Select(s => s.Item1 with { Resource = resources[s.Item2 % resources.Count] }).ToList();

    [Fact]
    public void Protobuf_decodes_to_exactly_the_spans_encoded()
        => SeededCheck.ForAll(Export, spans =>
            Assert.Equal(OtlpWire.Canonical(spans), OtlpWire.Canonical(OtlpProtobufReader.Read(OtlpWire.ToProtobuf(spans)))));

    [Fact]
    public void Json_decodes_to_exactly_the_spans_encoded()
        => SeededCheck.ForAll(Export, spans =>
            Assert.Equal(OtlpWire.Canonical(spans), OtlpWire.Canonical(OtlpJsonReader.Read(System.Text.Encoding.UTF8.GetBytes(OtlpWire.ToJson(spans))))));

    [Fact]
    public void A_truncated_protobuf_body_is_a_format_error_never_a_crash()
        => SeededCheck.ForAll(Gen.Select(Export.Where(s => s.Count > 0), Gen.Double[0, 1]), sample =>
        {
            var bytes = OtlpWire.ToProtobuf(sample.Item1);
            var cut = bytes.AsMemory(0, Math.Max(1, (int)(bytes.Length * sample.Item2)));
            if (cut.Length == bytes.Length)
            {
                return;
            }

            // A cut can land on a message boundary and still parse; it must never throw anything but a format error.
            try
            {
                OtlpProtobufReader.Read(cut);
            }
            catch (OtlpFormatException)
            {
            }
        });

    private static Gen<IReadOnlyList<OtlpAttribute>> Attributes(int depth)
        => Gen.Select(Key, Value(depth), (k, v) => new OtlpAttribute(k, v)).List[0, 4].Select(l => (IReadOnlyList<OtlpAttribute>)l);

    private static Gen<object?> Value(int depth)
        => depth == 0
            ? Scalar
            : Gen.Frequency(
                (6, Scalar),
                (1, Value(depth - 1).List[0, 3].Select(l => (object?)l)),
                (1, Gen.Select(Key, Value(depth - 1), (k, v) => new OtlpAttribute(k, v)).List[0, 3].Select(l => (object?)l)));
}
