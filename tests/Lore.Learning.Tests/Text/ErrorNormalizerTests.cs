using System.Globalization;
using CsCheck;
using Lore.Learning.Text;

namespace Lore.Learning.Tests.Text;

public sealed class ErrorNormalizerTests
{
    [Theory]
    [InlineData("Error: reservation 4WQ150 not found", "reservation <id> not found")]
    [InlineData("Error: payment amount does not add up, total price is 305, but paid 255", "payment amount does not add up, total price is <num>, but paid <num>")]
    [InlineData("Error: not enough seats on flight HAT229", "not enough seats on flight <id>")]
    [InlineData("Error: payment method certificate_7504069 not found", "payment method <id> not found")]
    [InlineData("Error: reservation HATHAT is cancelled", "reservation <id> is cancelled")]
    [InlineData("Error: order #W1234567 not found", "order <id> not found")]
    [InlineData("Error: flight 'HAT 12' on 2024-05-20 is full", "flight <value> on <date> is full")]
    [InlineData("ERROR - a payment of $1,250.50 exceeds the open balance $99.00 of invoice INV-0042.", "a payment of <num> exceeds the open balance <num> of invoice <id>")]
    [InlineData("Error: user 3f2504e0-4f89-11d3-9a0c-0305e82c3301 at 10:30 pm (ann@example.com)", "user <id> at <time> (<email>)")]
    [InlineData("Error: items 12, 17, 23 are out of stock", "items <num>, … are out of stock")]
    [InlineData("Error: gift card balance is not enough\n  at Tools.Pay()\n  at Agent.Run()", "gift card balance is not enough")]
    [InlineData("Error: Error: INVALID request", "invalid request")]
    [InlineData("Error:", "<empty>")]
    [InlineData("", "<empty>")]
    public void Error_texts_reduce_to_their_pattern(string error, string expected)
        => Assert.Equal(expected, ErrorNormalizer.Normalize(error));

    private static readonly Gen<string> Words = Gen.OneOf("order", "not", "found", "payment", "is", "for", "the", "card", "flight", "balance", "exceeds", "user", "of", "on");

    /// <summary>Value generators by kind: numbers, decimals, flight numbers, certificate ids, order ids, dates, quoted text, uuids.</summary>
    private static readonly Gen<string>[] ValueKinds =
    [
        Gen.Int[0, 1_000_000].Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Double[-1e6, 1e6].Select(d => d.ToString("F2", CultureInfo.InvariantCulture)),
        Gen.Int[0, 99_999].Select(i => $"HAT{i}"),
        Gen.Int[0, 9_999_999].Select(i => $"certificate_{i}"),
        Gen.Int[0, 9_999_999].Select(i => $"#W{i}"),
        Gen.Select(Gen.Int[2000, 2030], Gen.Int[1, 12], Gen.Int[1, 28]).Select((y, m, d) => $"{y:D4}-{m:D2}-{d:D2}"),
        Gen.String[Gen.Char["abc xyz-_"], 0, 10].Select(s => $"'{s}'"),
        Gen.Guid.Select(g => g.ToString()),
    ];

    /// <summary>A slot of a template: a fixed word, or a value of one kind given two different ways.</summary>
    private static readonly Gen<(string First, string Second)> Slot = Gen.OneOf(
        Words.Select(w => (w, w)),
        Gen.Int[0, ValueKinds.Length - 1].SelectMany(k => Gen.Select(ValueKinds[k], ValueKinds[k])));

    /// <summary>The same message template filled twice with different values of the same kinds.</summary>
    private static readonly Gen<(string First, string Second)> FilledTwice =
        Slot.Array[1, 10].Select(slots => (
            "Error: " + string.Join(" ", slots.Select(s => s.First)),
            "Error: " + string.Join(" ", slots.Select(s => s.Second))));

    [Fact]
    public void The_same_message_with_different_ids_numbers_dates_and_quoted_values_has_one_pattern()
    {
        SeededCheck.ForAll(FilledTwice, pair => Assert.Equal(ErrorNormalizer.Normalize(pair.First), ErrorNormalizer.Normalize(pair.Second)), iterations: 1000);
    }

    private static readonly Gen<string> AnyText = Gen.OneOf(
        Gen.String,
        Gen.String[Gen.Char["Error: abcXYZ0123456789 ,.;:'\"`$#_-<>/@\n\t"], 0, 80],
        FilledTwice.Select(p => p.First));

    [Fact]
    public void A_pattern_has_no_digits_and_is_a_fixed_point()
    {
        SeededCheck.ForAll(AnyText, text =>
        {
            var once = ErrorNormalizer.Normalize(text);
            Assert.DoesNotContain(once, char.IsDigit);
            Assert.InRange(once.Length, 1, ErrorNormalizer.MaxLength);
            Assert.Equal(once, ErrorNormalizer.Normalize(once));
        }, iterations: 2000);
    }
}
