using System.Globalization;
using System.Text.RegularExpressions;

namespace Lore.Simulation;

/// <summary>Something the agent does next: call a tool, or answer and end its turn.</summary>
internal abstract record AgentAction;

internal sealed record CallTool(string Name, IReadOnlyDictionary<string, object?> Arguments) : AgentAction;

internal sealed record Answer(string Text) : AgentAction;

/// <summary>
/// The agent's dice for one episode, thrown once from the agent's seed and the task text, in a fixed order. Every
/// draw is taken whether or not it is used, so a lesson changes only the decision it addresses and nothing else.
/// </summary>
internal readonly record struct Temperament(double Mistake, double Recovery, double Compliance, double StopEarly, double CheckCustomer)
{
    public static Temperament Draw(int agentSeed, string task)
    {
        var random = new Random(StableHash.Mix(agentSeed, StableHash.Of(task), 0x5A6E));
        return new Temperament(random.NextDouble(), random.NextDouble(), random.NextDouble(), random.NextDouble(), random.NextDouble());
    }
}

/// <summary>
/// How the simulated agent works a ticket, written as a coroutine: it yields each action and reads the tool's answer
/// from <see cref="LastResult"/> when resumed. Replaying it against a conversation's recorded results reproduces the
/// agent's earlier calls, so the agent is stateless between model calls, like a real model.
/// </summary>
internal sealed partial class AgentPolicy(SimulatedAgentProfile profile, Ticket ticket, Temperament dice, string instructions)
{
    /// <summary>The result of the tool call most recently yielded.</summary>
    public string LastResult { get; set; } = "";

    private bool LastFailed => Step.LooksLikeToolError(LastResult);

    /// <summary>
    /// Whether the agent avoids the precondition mistake of the ticket's slice: either it would not make it anyway,
    /// or a lesson naming the rule's tools is in its instructions and it follows it.
    /// </summary>
    public bool TakesPrecondition(string slice)
    {
        var wouldSkip = dice.Mistake < profile.MistakeRate(slice);
        var follows = ProcedureRule.ForSlice(slice).IsMentionedIn(instructions) && dice.Compliance < profile.FollowLessons;
        return !wouldSkip || follows;
    }

    private bool Recovers => dice.Recovery < profile.RecoverAfterError;

    private bool StopsEarly => dice.StopEarly < profile.StopEarly;

    public IEnumerable<AgentAction> Run()
    {
        if (ticket.Slice is null || ticket.CustomerId is null)
        {
            yield return new Answer("I could not tell what this ticket asks for or which customer it is about; please clarify.");
            yield break;
        }

        if (dice.CheckCustomer < profile.CheckCustomerFirst)
        {
            yield return Call("get_customer", ("customerId", ticket.CustomerId));
            if (LastFailed)
            {
                yield return GiveUp($"look up customer {ticket.CustomerId}");
                yield break;
            }
        }

        var steps = ticket.Slice switch
        {
            WorkplaceSlices.Refunds => Refund(),
            WorkplaceSlices.Payments => Pay(),
            WorkplaceSlices.Bookings => Book(),
            _ => ChangeAddress(),
        };
        foreach (var action in steps)
        {
            yield return action;
        }
    }

    private IEnumerable<AgentAction> Refund()
    {
        if (ticket.OrderId is not { } order)
        {
            yield return new Answer("The ticket does not say which order to refund; please add the order number.");
            yield break;
        }

        var precondition = Call("lookup_order", ("orderId", order));
        var refund = Call("refund_order", ("orderId", order));
        foreach (var action in Procedure(WorkplaceSlices.Refunds, precondition, refund, $"refund order {order}", $"Order {order} has been refunded."))
        {
            yield return action;
        }
    }

    private IEnumerable<AgentAction> Pay()
    {
        if (ticket.InvoiceId is not { } invoice || ticket.StatedAmount is not { } amount)
        {
            yield return new Answer("The ticket does not name the invoice and amount to pay; please add them.");
            yield break;
        }

        if (TakesPrecondition(WorkplaceSlices.Payments))
        {
            yield return Call("get_invoice", ("invoiceId", invoice));
            if (LastFailed)
            {
                yield return GiveUp($"find invoice {invoice}");
                yield break;
            }

            var balance = BalancePattern().Match(LastResult);
            if (balance.Success)
            {
                amount = decimal.Parse(balance.Groups[1].Value, CultureInfo.InvariantCulture);
            }
        }

        if (StopsEarly)
        {
            yield return new Answer($"Invoice {invoice} is ready to be paid; I have noted the amount on the ticket.");
            yield break;
        }

        yield return Call("pay_invoice", ("invoiceId", invoice), ("amount", amount));
        yield return LastFailed
            ? GiveUp($"pay invoice {invoice}")
            : new Answer($"Paid {Workplace.F(amount)} on invoice {invoice} for customer {ticket.CustomerId}.");
    }

    private IEnumerable<AgentAction> Book()
    {
        if (ticket.Origin is not { } origin || ticket.Destination is not { } destination || ticket.Date is not { } date)
        {
            yield return new Answer("The ticket does not give the route and date to book; please add them.");
            yield break;
        }

        yield return Call("search_flights", ("origin", origin), ("destination", destination), ("date", date));
        var cheapest = FlightPattern().Matches(LastResult)
            .Select(m => (Number: m.Groups[1].Value, Fare: decimal.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .OrderBy(f => f.Fare)
            .FirstOrDefault();
        if (LastFailed || cheapest.Number is null)
        {
            yield return new Answer($"I found no flights from {origin} to {destination} on {date}, so I could not book one.");
            yield break;
        }

        var precondition = Call("hold_seat", ("flightNumber", cheapest.Number), ("customerId", ticket.CustomerId));
        var action = Call("book_flight", ("flightNumber", cheapest.Number), ("customerId", ticket.CustomerId));
        foreach (var step in Procedure(WorkplaceSlices.Bookings, precondition, action, $"book flight {cheapest.Number}", $"Customer {ticket.CustomerId} is booked on {cheapest.Number}, the cheapest flight from {origin} to {destination} on {date}."))
        {
            yield return step;
        }
    }

    private IEnumerable<AgentAction> ChangeAddress()
    {
        if (ticket.Address is not { } address)
        {
            yield return new Answer("The ticket does not give the new address; please add it.");
            yield break;
        }

        var precondition = Call("verify_identity", ("customerId", ticket.CustomerId));
        var action = Call("update_address", ("customerId", ticket.CustomerId), ("address", address));
        foreach (var step in Procedure(WorkplaceSlices.Account, precondition, action, $"change the address of customer {ticket.CustomerId}", $"The address of customer {ticket.CustomerId} is now \"{address}\"."))
        {
            yield return step;
        }
    }

    /// <summary>The shape shared by the rules with an error: precondition (unless skipped), action, and on refusal recover or give up.</summary>
    private IEnumerable<AgentAction> Procedure(string slice, CallTool precondition, CallTool action, string goal, string done)
    {
        if (TakesPrecondition(slice))
        {
            yield return precondition;
            if (LastFailed)
            {
                yield return GiveUp(goal);
                yield break;
            }
        }

        if (StopsEarly)
        {
            yield return new Answer($"Everything is in order to {goal}; I have noted it on the ticket.");
            yield break;
        }

        yield return action;
        if (LastFailed && Recovers)
        {
            yield return precondition;
            if (!LastFailed)
            {
                yield return action;
            }
        }

        yield return LastFailed ? GiveUp(goal) : new Answer(done);
    }

    private Answer GiveUp(string goal) => new($"I could not {goal}: {LastResult.Trim()}");

    private static CallTool Call(string name, params (string Name, object? Value)[] arguments)
        => new(name, arguments.ToDictionary(a => a.Name, a => a.Value, StringComparer.Ordinal));

    [GeneratedRegex(@"open balance (\d+\.\d{2})")]
    private static partial Regex BalancePattern();

    [GeneratedRegex(@"\b([A-Z]{2}\d+) departs \d{2}:\d{2}, fare (\d+\.\d{2})")]
    private static partial Regex FlightPattern();
}
