namespace Lore.Simulation;

/// <summary>
/// A hidden rule as the agent can come to know it: the precondition tool that must come before the action tool.
/// A lesson line that names both tools counts as knowing the rule, because the LLM-free extractors name tools.
/// </summary>
internal sealed record ProcedureRule(string Slice, string Precondition, string Action)
{
    public static IReadOnlyList<ProcedureRule> All { get; } =
    [
        new(WorkplaceSlices.Refunds, "lookup_order", "refund_order"),
        new(WorkplaceSlices.Payments, "get_invoice", "pay_invoice"),
        new(WorkplaceSlices.Bookings, "hold_seat", "book_flight"),
        new(WorkplaceSlices.Account, "verify_identity", "update_address"),
    ];

    public static ProcedureRule ForSlice(string slice) => All.First(r => r.Slice == slice);

    /// <summary>True when some line of <paramref name="instructions"/> names both tools of the rule.</summary>
    public bool IsMentionedIn(string instructions)
    {
        foreach (var line in instructions.Split('\n'))
        {
            if (line.Contains(Precondition, StringComparison.OrdinalIgnoreCase) && line.Contains(Action, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
