namespace Lore.Simulation;

/// <summary>
/// One ticket handed to the agent: the text it reads, the slice it belongs to and the customer it is for. The
/// facts the environment needs to set up and judge the task stay internal, so the agent sees only the text.
/// </summary>
public sealed record WorkplaceTask
{
    internal WorkplaceTask(TaskFacts facts) => Facts = facts;

    /// <summary>The ticket id (for example <c>T-10042</c>), unique within a workplace.</summary>
    public required string Id { get; init; }

    /// <summary>One of <see cref="WorkplaceSlices.All"/>.</summary>
    public required string Slice { get; init; }

    /// <summary>What the agent is asked to do, in the words it is given.</summary>
    public required string Text { get; init; }

    /// <summary>The customer the ticket is about; used as the episode's unit key.</summary>
    public required string CustomerId { get; init; }

    /// <summary>Labels to give the episode (a fresh dictionary each time): the slice.</summary>
    public Dictionary<string, string> CreateLabels() => new(StringComparer.Ordinal) { ["slice"] = Slice };

    internal TaskFacts Facts { get; }
}

/// <summary>What the environment knows about a task and the agent must find out.</summary>
internal abstract record TaskFacts;

internal sealed record RefundFacts(string OrderId, int Items, decimal Total) : TaskFacts;

internal sealed record PaymentFacts(string InvoiceId, decimal Subtotal, decimal Tax) : TaskFacts
{
    public decimal Total => Subtotal + Tax;
}

internal sealed record Flight(string Number, string Departure, decimal Fare);

internal sealed record BookingFacts(string Origin, string Destination, string Date, IReadOnlyList<Flight> Flights) : TaskFacts
{
    public Flight Cheapest => Flights.MinBy(f => f.Fare)!;
}

internal sealed record AddressFacts(string NewAddress) : TaskFacts;
