namespace Lore.Simulation;

/// <summary>The kinds of work the simulated workplace hands out; each is a value of the episode label <c>slice</c>.</summary>
public static class WorkplaceSlices
{
    /// <summary>Refund requests.</summary>
    public const string Refunds = "refunds";
    /// <summary>Invoice payments.</summary>
    public const string Payments = "payments";
    /// <summary>Flight bookings.</summary>
    public const string Bookings = "bookings";
    /// <summary>Account changes (address, identity).</summary>
    public const string Account = "account";

    /// <summary>Every slice, in the order reports list them.</summary>
    public static IReadOnlyList<string> All { get; } = [Refunds, Payments, Bookings, Account];
}
