using System.ComponentModel;
using System.Globalization;
using Microsoft.Extensions.AI;

namespace Lore.Simulation;

/// <summary>One tool call the environment served, as it answered it.</summary>
public sealed record WorkplaceToolCall(string Name, string Arguments, string Result)
{
    /// <summary>True when the tool refused the call (its result starts with "Error").</summary>
    public bool Failed => Step.LooksLikeToolError(Result);
}

/// <summary>
/// The environment's judgement of an episode: did the final state do what the ticket asked? A failure that broke one of
/// the workplace's policies (rather than leaving the work undone) carries the policy's <see cref="Category"/>.
/// </summary>
public sealed record WorkplaceVerdict(bool Success, string Reason, string? Category = null)
{
    /// <summary>
    /// The category of an episode that ran the automated identity check on a gold-tier member
    /// (see <see cref="WorkplaceRules.GoldMembersVerifiedByAccountManager"/>).
    /// </summary>
    public const string GoldMemberCheckedAutomatically = "automated identity check on a gold member";

    /// <summary>The verdict as a Lore outcome from the environment (a policy failure with its category).</summary>
    public Outcome ToOutcome(DateTimeOffset? at = null)
        => Success
            ? Outcome.Success(OutcomeSource.Environment, actor: "lore-simulation", comment: Reason, at: at)
            : Outcome.Failure(OutcomeSource.Environment, actor: "lore-simulation", comment: Reason, at: at) with { Category = Category };
}

/// <summary>
/// The state of the workplace during one episode, with the tools the agent may call on it. Tools enforce the hidden
/// <see cref="WorkplaceRules"/>; a refused call changes nothing. <see cref="Judge"/> reads the final state, so the
/// outcome comes from the environment and not from what the agent claims.
/// </summary>
public sealed class WorkplaceEnvironment
{
    private readonly Workplace _workplace;
    private readonly Dictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private readonly HashSet<string> _verified = new(StringComparer.Ordinal);
    private readonly HashSet<string> _lookedUpOrders = new(StringComparer.Ordinal);
    private readonly HashSet<string> _refundedOrders = new(StringComparer.Ordinal);
    private readonly HashSet<(string Flight, string Customer)> _holds = [];
    private readonly List<(string Flight, string Customer)> _bookings = [];
    private readonly List<WorkplaceToolCall> _calls = [];
    private decimal _paid;

    internal WorkplaceEnvironment(Workplace workplace, WorkplaceTask task, WorkplaceRules rules)
    {
        _workplace = workplace;
        Task = task;
        Rules = rules;
        Tools =
        [
            AIFunctionFactory.Create(GetCustomer, "get_customer", "Shows a customer's name, email, address on file and tier."),
            AIFunctionFactory.Create(LookupOrder, "lookup_order", "Shows an order: its customer, items, total and status."),
            AIFunctionFactory.Create(RefundOrder, "refund_order", "Issues a full refund for an order."),
            AIFunctionFactory.Create(GetInvoice, "get_invoice", "Shows an invoice: subtotal, tax, total, amount paid and open balance."),
            AIFunctionFactory.Create(PayInvoice, "pay_invoice", "Records a payment on an invoice."),
            AIFunctionFactory.Create(SearchFlights, "search_flights", "Lists the flights on a route and date with departure times and fares."),
            AIFunctionFactory.Create(HoldSeat, "hold_seat", "Holds a seat on a flight for a customer."),
            AIFunctionFactory.Create(BookFlight, "book_flight", "Books a customer on a flight."),
            AIFunctionFactory.Create(VerifyIdentity, "verify_identity", "Runs the identity check for a customer."),
            AIFunctionFactory.Create(UpdateAddress, "update_address", "Changes the address on file for a customer."),
        ];
    }

    /// <summary>The ticket being worked in this environment.</summary>
    public WorkplaceTask Task { get; }

    /// <summary>The hidden rules the environment judges by (the agent never sees them; only lessons can teach them).</summary>
    public WorkplaceRules Rules { get; }

    /// <summary>The tools, bound to this episode's state; pass them in <see cref="ChatOptions.Tools"/>.</summary>
    public IReadOnlyList<AIFunction> Tools { get; }

    /// <summary>Every tool call served so far, in order.</summary>
    public IReadOnlyList<WorkplaceToolCall> Calls => _calls;

    /// <summary>Whether the final state is what the ticket asked for, and why.</summary>
    public WorkplaceVerdict Judge()
    {
        switch (Task.Facts)
        {
            case RefundFacts refund:
                return _refundedOrders.Contains(refund.OrderId)
                    ? new(true, $"order {refund.OrderId} was refunded")
                    : new(false, $"order {refund.OrderId} was not refunded");

            case PaymentFacts payment:
                if (_paid == 0)
                {
                    return new(false, $"invoice {payment.InvoiceId} was not paid");
                }

                if (Rules.TaxCollectedSeparately)
                {
                    return _paid == payment.Subtotal
                        ? new(true, $"invoice {payment.InvoiceId} was settled at its subtotal ({Workplace.F(payment.Subtotal)}; tax collected separately)")
                        : _paid > payment.Subtotal
                            ? new(false, $"invoice {payment.InvoiceId} overcharged the customer: {Workplace.F(_paid)} paid, {Workplace.F(payment.Subtotal)} due (tax is collected separately)")
                            : new(false, $"invoice {payment.InvoiceId} is underpaid: {Workplace.F(_paid)} of {Workplace.F(payment.Subtotal)}");
                }

                if (Rules.PaymentMustEqualInvoiceTotal)
                {
                    return _paid == payment.Total
                        ? new(true, $"invoice {payment.InvoiceId} was paid in full ({Workplace.F(payment.Total)})")
                        : new(false, $"invoice {payment.InvoiceId} is underpaid: {Workplace.F(_paid)} of {Workplace.F(payment.Total)}");
                }

                return _paid >= payment.Subtotal
                    ? new(true, $"invoice {payment.InvoiceId} was settled ({Workplace.F(_paid)}; tax waived)")
                    : new(false, $"invoice {payment.InvoiceId} is underpaid: {Workplace.F(_paid)} of {Workplace.F(payment.Subtotal)}");

            case BookingFacts booking:
                var mine = _bookings.Where(b => b.Customer == Task.CustomerId).Select(b => b.Flight).ToList();
                if (mine.Count == 0)
                {
                    return new(false, $"customer {Task.CustomerId} was not booked");
                }

                return mine is [var only] && only == booking.Cheapest.Number
                    ? new(true, $"customer {Task.CustomerId} was booked on the cheapest flight {only}")
                    : new(false, $"customer {Task.CustomerId} was booked on {string.Join(", ", mine)}, not only on the cheapest flight {booking.Cheapest.Number}");

            case AddressFacts address:
                if (IsVerifiedByAccountManager(Task.CustomerId) && _verified.Contains(Task.CustomerId))
                {
                    return new(false, $"customer {Task.CustomerId} is a gold member, verified by their account manager: the automated identity check must not be run on them", WorkplaceVerdict.GoldMemberCheckedAutomatically);
                }

                return AddressOf(Task.CustomerId) == address.NewAddress
                    ? new(true, $"the address of customer {Task.CustomerId} was changed")
                    : new(false, $"the address of customer {Task.CustomerId} was not changed to the requested one");

            default:
                throw new InvalidOperationException($"Unknown task facts {Task.Facts.GetType().Name}.");
        }
    }

    private string Served(string name, string arguments, string result)
    {
        _calls.Add(new WorkplaceToolCall(name, arguments, result));
        return result;
    }

    private string? AddressOf(string customerId)
        => _addresses.TryGetValue(customerId, out var changed) ? changed : _workplace.FindCustomer(customerId)?.Address;

    private string GetCustomer([Description("The customer id, for example C-0042.")] string customerId)
    {
        var args = Args(("customerId", customerId));
        var customer = _workplace.FindCustomer(customerId);
        return Served("get_customer", args, customer is null
            ? $"Error: no customer {customerId} exists"
            : $"Customer {customer.Id}: {customer.Name}, email {customer.Email}, address \"{AddressOf(customer.Id)}\", tier {customer.Tier}.");
    }

    private string LookupOrder([Description("The order number.")] string orderId)
    {
        var args = Args(("orderId", orderId));
        if (Task.Facts is not RefundFacts order || order.OrderId != orderId)
        {
            return Served("lookup_order", args, $"Error: no order {orderId} exists");
        }

        _lookedUpOrders.Add(orderId);
        var status = _refundedOrders.Contains(orderId) ? "refunded" : "delivered";
        return Served("lookup_order", args, $"Order {orderId}: customer {Task.CustomerId}, {order.Items} item(s), total {Workplace.F(order.Total)}, status {status}.");
    }

    private string RefundOrder([Description("The order number.")] string orderId)
    {
        var args = Args(("orderId", orderId));
        if (Task.Facts is not RefundFacts order || order.OrderId != orderId)
        {
            return Served("refund_order", args, $"Error: no order {orderId} exists");
        }

        if (_refundedOrders.Contains(orderId))
        {
            return Served("refund_order", args, $"Error: order {orderId} has already been refunded");
        }

        if (Rules.RefundRequiresLookup && !_lookedUpOrders.Contains(orderId))
        {
            return Served("refund_order", args, $"Error: order {orderId} must be looked up before it can be refunded");
        }

        _refundedOrders.Add(orderId);
        return Served("refund_order", args, $"Refund of {Workplace.F(order.Total)} issued for order {orderId}.");
    }

    private string GetInvoice([Description("The invoice id, for example INV-20431.")] string invoiceId)
    {
        var args = Args(("invoiceId", invoiceId));
        if (Task.Facts is not PaymentFacts invoice || invoice.InvoiceId != invoiceId)
        {
            return Served("get_invoice", args, $"Error: no invoice {invoiceId} exists");
        }

        return Served("get_invoice", args,
            $"Invoice {invoiceId} for customer {Task.CustomerId}: subtotal {Workplace.F(invoice.Subtotal)}, tax {Workplace.F(invoice.Tax)}, " +
            $"total {Workplace.F(invoice.Total)}, paid {Workplace.F(_paid)}, open balance {Workplace.F(invoice.Total - _paid)}.");
    }

    private string PayInvoice(
        [Description("The invoice id, for example INV-20431.")] string invoiceId,
        [Description("The amount to pay, in dollars.")] decimal amount)
    {
        var args = Args(("invoiceId", invoiceId), ("amount", Workplace.F(amount)));
        if (Task.Facts is not PaymentFacts invoice || invoice.InvoiceId != invoiceId)
        {
            return Served("pay_invoice", args, $"Error: no invoice {invoiceId} exists");
        }

        if (amount <= 0 || decimal.Round(amount, 2) != amount)
        {
            return Served("pay_invoice", args, $"Error: a payment must be a positive amount in cents, not {amount.ToString(CultureInfo.InvariantCulture)}");
        }

        var balance = invoice.Total - _paid;
        if (amount > balance)
        {
            return Served("pay_invoice", args, $"Error: a payment of {Workplace.F(amount)} exceeds the open balance {Workplace.F(balance)} of invoice {invoiceId}");
        }

        // The hidden rule: a partial payment is accepted without complaint; only the final state shows it.
        _paid += amount;
        return Served("pay_invoice", args, $"Payment of {Workplace.F(amount)} recorded on invoice {invoiceId}.");
    }

    private string SearchFlights(
        [Description("Origin airport code, for example BOS.")] string origin,
        [Description("Destination airport code, for example SFO.")] string destination,
        [Description("Travel date as yyyy-MM-dd.")] string date)
    {
        var args = Args(("origin", origin), ("destination", destination), ("date", date));
        if (Task.Facts is not BookingFacts route || route.Origin != origin || route.Destination != destination || route.Date != date)
        {
            return Served("search_flights", args, $"No flights found from {origin} to {destination} on {date}.");
        }

        var list = string.Join("; ", route.Flights.Select(f => $"{f.Number} departs {f.Departure}, fare {Workplace.F(f.Fare)}"));
        return Served("search_flights", args, $"Flights from {origin} to {destination} on {date}: {list}.");
    }

    private string HoldSeat(
        [Description("The flight number, for example UA990.")] string flightNumber,
        [Description("The customer id.")] string customerId)
    {
        var args = Args(("flightNumber", flightNumber), ("customerId", customerId));
        if (FindFlight(flightNumber) is null)
        {
            return Served("hold_seat", args, $"Error: no flight {flightNumber} exists");
        }

        if (_workplace.FindCustomer(customerId) is null)
        {
            return Served("hold_seat", args, $"Error: no customer {customerId} exists");
        }

        _holds.Add((flightNumber, customerId));
        var row = (StableHash.Of(flightNumber + customerId) & 0x1F) + 1;
        var letter = (char)('A' + (StableHash.Of(customerId) & 0x3));
        var seat = string.Create(CultureInfo.InvariantCulture, $"{row}{letter}");
        return Served("hold_seat", args, $"Seat {seat} held on flight {flightNumber} for customer {customerId}.");
    }

    private string BookFlight(
        [Description("The flight number, for example UA990.")] string flightNumber,
        [Description("The customer id.")] string customerId)
    {
        var args = Args(("flightNumber", flightNumber), ("customerId", customerId));
        var flight = FindFlight(flightNumber);
        if (flight is null)
        {
            return Served("book_flight", args, $"Error: no flight {flightNumber} exists");
        }

        if (_workplace.FindCustomer(customerId) is null)
        {
            return Served("book_flight", args, $"Error: no customer {customerId} exists");
        }

        if (_bookings.Contains((flightNumber, customerId)))
        {
            return Served("book_flight", args, $"Error: customer {customerId} is already booked on flight {flightNumber}");
        }

        if (Rules.BookingRequiresHold && !_holds.Contains((flightNumber, customerId)))
        {
            return Served("book_flight", args, $"Error: a seat on flight {flightNumber} must be held for customer {customerId} before it can be booked");
        }

        _bookings.Add((flightNumber, customerId));
        return Served("book_flight", args, $"Booked customer {customerId} on flight {flightNumber}, fare {Workplace.F(flight.Fare)}.");
    }

    private string VerifyIdentity([Description("The customer id.")] string customerId)
    {
        var args = Args(("customerId", customerId));
        if (_workplace.FindCustomer(customerId) is null)
        {
            return Served("verify_identity", args, $"Error: no customer {customerId} exists");
        }

        _verified.Add(customerId);
        return Served("verify_identity", args, $"Identity of customer {customerId} verified.");
    }

    private string UpdateAddress(
        [Description("The customer id.")] string customerId,
        [Description("The new address, as one line.")] string address)
    {
        var args = Args(("customerId", customerId), ("address", address));
        if (_workplace.FindCustomer(customerId) is null)
        {
            return Served("update_address", args, $"Error: no customer {customerId} exists");
        }

        if (string.IsNullOrWhiteSpace(address))
        {
            return Served("update_address", args, "Error: the new address is empty");
        }

        if (Rules.AddressChangeRequiresVerification && !_verified.Contains(customerId) && !IsVerifiedByAccountManager(customerId))
        {
            return Served("update_address", args, $"Error: the identity of customer {customerId} must be verified before the address can be changed");
        }

        _addresses[customerId] = address.Trim();
        return Served("update_address", args, $"Address of customer {customerId} changed to \"{address.Trim()}\".");
    }

    /// <summary>True when this customer's identity is the account manager's to verify (a gold member, under <see cref="WorkplaceRules.GoldMembersVerifiedByAccountManager"/>).</summary>
    private bool IsVerifiedByAccountManager(string customerId)
        => Rules.GoldMembersVerifiedByAccountManager && _workplace.FindCustomer(customerId)?.Tier == "gold";

    private Flight? FindFlight(string flightNumber)
        => Task.Facts is BookingFacts route ? route.Flights.FirstOrDefault(f => f.Number == flightNumber) : null;

    private static string Args(params (string Name, string Value)[] pairs)
        => System.Text.Json.JsonSerializer.Serialize(pairs.ToDictionary(p => p.Name, p => p.Value), LoreJson.Options);
}
