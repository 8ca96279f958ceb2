using System.Globalization;
using System.Text.RegularExpressions;

namespace Lore.Simulation;

/// <summary>What the agent understood from a ticket's text: the kind of work and the ids and values in it.</summary>
internal sealed partial record Ticket(
    string? Slice,
    string? CustomerId,
    string? OrderId,
    string? InvoiceId,
    decimal? StatedAmount,
    string? Origin,
    string? Destination,
    string? Date,
    string? Address)
{
    /// <summary>Reads a ticket the way a careful human would skim it: keywords for the intent, patterns for the values.</summary>
    public static Ticket Read(string text)
    {
        var slice =
            text.Contains("refund", StringComparison.OrdinalIgnoreCase) ? WorkplaceSlices.Refunds
            : text.Contains("invoice", StringComparison.OrdinalIgnoreCase) ? WorkplaceSlices.Payments
            : text.Contains("flight", StringComparison.OrdinalIgnoreCase) ? WorkplaceSlices.Bookings
            : text.Contains("address", StringComparison.OrdinalIgnoreCase) ? WorkplaceSlices.Account
            : null;
        var route = RoutePattern().Match(text);
        var amount = AmountPattern().Match(text);
        return new Ticket(
            slice,
            Group(CustomerPattern().Match(text), 0),
            Group(OrderPattern().Match(text), 1),
            Group(InvoicePattern().Match(text), 0),
            amount.Success ? decimal.Parse(amount.Groups[1].Value, CultureInfo.InvariantCulture) : null,
            Group(route, 1),
            Group(route, 2),
            Group(DatePattern().Match(text), 0),
            Group(QuotedPattern().Match(text), 1));
    }

    private static string? Group(Match match, int group) => match.Success ? match.Groups[group].Value : null;

    [GeneratedRegex(@"\bC-\d{4}\b")]
    private static partial Regex CustomerPattern();

    [GeneratedRegex(@"\border #?(\d+)", RegexOptions.IgnoreCase)]
    private static partial Regex OrderPattern();

    [GeneratedRegex(@"\bINV-\d+\b")]
    private static partial Regex InvoicePattern();

    [GeneratedRegex(@"\$(\d+(?:\.\d{1,2})?)")]
    private static partial Regex AmountPattern();

    [GeneratedRegex(@"\b([A-Z]{3}) to ([A-Z]{3})\b")]
    private static partial Regex RoutePattern();

    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}\b")]
    private static partial Regex DatePattern();

    [GeneratedRegex("\"([^\"]+)\"")]
    private static partial Regex QuotedPattern();
}
