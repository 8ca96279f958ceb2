namespace Lore.Simulation;

/// <summary>
/// How often the simulated agent makes each characteristic mistake of a real tool-using agent, and how reliably it
/// follows a lesson that addresses one. Rates are probabilities per episode, drawn from the agent's seed.
/// </summary>
public sealed record SimulatedAgentProfile
{
    /// <summary>The rates of the default demo: a plausible, fallible agent.</summary>
    public static SimulatedAgentProfile Default { get; } = new();

    /// <summary>An agent that never slips and always follows lessons; useful to check the environment itself.</summary>
    public static SimulatedAgentProfile Careful { get; } = new()
    {
        SkipOrderLookup = 0,
        PayStatedAmount = 0,
        SkipSeatHold = 0,
        SkipIdentityCheck = 0,
        StopEarly = 0,
        FollowLessons = 1,
        RecoverAfterError = 1,
    };

    /// <summary>Refunds an order without calling <c>lookup_order</c> first.</summary>
    public double SkipOrderLookup { get; init; } = 0.6;

    /// <summary>Pays the amount stated in the ticket without calling <c>get_invoice</c> for the real total.</summary>
    public double PayStatedAmount { get; init; } = 0.55;

    /// <summary>Books a flight without calling <c>hold_seat</c> first.</summary>
    public double SkipSeatHold { get; init; } = 0.5;

    /// <summary>Changes an address without calling <c>verify_identity</c> first.</summary>
    public double SkipIdentityCheck { get; init; } = 0.5;

    /// <summary>After a tool refuses a call, calls the missing precondition and retries (otherwise it gives up).</summary>
    public double RecoverAfterError { get; init; } = 0.35;

    /// <summary>Follows an injected lesson that names the tools of a mistake it is about to make.</summary>
    public double FollowLessons { get; init; } = 0.95;

    /// <summary>Answers before taking the final action, as if the work were done (no lesson addresses this).</summary>
    public double StopEarly { get; init; } = 0.03;

    /// <summary>Calls <c>get_customer</c> before anything else (harmless; varies the trajectories).</summary>
    public double CheckCustomerFirst { get; init; } = 0.3;

    /// <summary>Throws naming the first rate outside [0, 1].</summary>
    public SimulatedAgentProfile Validate()
    {
        Check(SkipOrderLookup, nameof(SkipOrderLookup));
        Check(PayStatedAmount, nameof(PayStatedAmount));
        Check(SkipSeatHold, nameof(SkipSeatHold));
        Check(SkipIdentityCheck, nameof(SkipIdentityCheck));
        Check(RecoverAfterError, nameof(RecoverAfterError));
        Check(FollowLessons, nameof(FollowLessons));
        Check(StopEarly, nameof(StopEarly));
        Check(CheckCustomerFirst, nameof(CheckCustomerFirst));
        return this;

        static void Check(double rate, string name)
        {
            if (double.IsNaN(rate) || rate < 0 || rate > 1)
            {
                throw new ArgumentOutOfRangeException(name, rate, $"{name} is a probability and must lie in [0, 1].");
            }
        }
    }

    /// <summary>The rate of the precondition mistake of a slice.</summary>
    internal double MistakeRate(string slice) => slice switch
    {
        WorkplaceSlices.Refunds => SkipOrderLookup,
        WorkplaceSlices.Payments => PayStatedAmount,
        WorkplaceSlices.Bookings => SkipSeatHold,
        WorkplaceSlices.Account => SkipIdentityCheck,
        _ => 0,
    };
}
