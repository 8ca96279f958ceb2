namespace Lore.Simulation;

/// <summary>
/// The workplace's hidden procedural rules, as data. The agent is never told them; it learns them from its own
/// episodes. Each rule is a switch so a scenario can change one midway and make a learned lesson stale.
/// </summary>
public sealed record WorkplaceRules
{
    /// <summary>The rules of the default demo: every precondition enforced.</summary>
    public static WorkplaceRules Default { get; } = new();

    /// <summary>A refund is refused unless <c>lookup_order</c> was called for that order earlier in the episode.</summary>
    public bool RefundRequiresLookup { get; init; } = true;

    /// <summary>
    /// An invoice is settled only by payments that add up to its total including tax. When off, tax is waived and a
    /// payment of the pre-tax subtotal settles it.
    /// </summary>
    public bool PaymentMustEqualInvoiceTotal { get; init; } = true;

    /// <summary>
    /// Tax is collected separately by the tax office: an invoice is settled only by paying exactly its pre-tax
    /// subtotal, and paying the total overcharges the customer. Off by default; the drift scenario switches it on
    /// midway, which turns the learned "read the invoice total first" lesson from helpful into harmful.
    /// </summary>
    public bool TaxCollectedSeparately { get; init; }

    /// <summary>A booking is refused unless <c>hold_seat</c> was called for that flight and customer first.</summary>
    public bool BookingRequiresHold { get; init; } = true;

    /// <summary>An address change is refused unless <c>verify_identity</c> was called for that customer first.</summary>
    public bool AddressChangeRequiresVerification { get; init; } = true;

    /// <summary>
    /// Gold-tier members are verified by their account manager: changing a gold member's address needs no
    /// <c>verify_identity</c>, and the workplace forbids running the automated check on them (the episode fails with the
    /// category <see cref="WorkplaceVerdict.GoldMemberCheckedAutomatically"/>). Off by default; the drift scenario
    /// switches it on with <see cref="AddressChangeRequiresVerification"/>, so that the learned "verify the identity
    /// first" lesson helps every other customer and makes the agent break this rule for gold members.
    /// </summary>
    public bool GoldMembersVerifiedByAccountManager { get; init; }
}
