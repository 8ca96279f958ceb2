namespace Lore.Simulation;

/// <summary>The kinds of work the simulated workplace hands out; each is a value of the episode label <c>slice</c>.</summary>
public static class WorkplaceSlices
{
    public const string Refunds = "refunds";
    public const string Payments = "payments";
    public const string Bookings = "bookings";
    public const string Account = "account";

    /// <summary>Every slice, in the order reports list them.</summary>
    public static IReadOnlyList<string> All { get; } = [Refunds, Payments, Bookings, Account];
}
