namespace Lore.Learning.Publication;

/// <summary>The state before and after a rollout change, and whether anything was saved.</summary>
internal sealed record RolloutUpdate(RolloutState Before, RolloutState After, bool Changed);

/// <summary>
/// The one way rollout state is changed: read it, decide the next state from what was read, save it only if nobody
/// saved in between (compare-and-swap on <see cref="RolloutState.Version"/>), and on a lost race read again and
/// decide again, so two hosts acting at once can never overwrite each other's decision unseen.
/// </summary>
internal static class RolloutStateWriter
{
    /// <summary>How many lost races a change survives before it gives up with the conflict.</summary>
    public const int MaxAttempts = 8;

    /// <summary>
    /// Applies <paramref name="decide"/> (null from it means "nothing to change"; an exception means "not allowed")
    /// to the current state. <paramref name="prepare"/> runs before each save with the state about to be saved, so a
    /// snapshot that cannot be served fails the change before anything is written.
    /// </summary>
    public static async Task<RolloutUpdate> UpdateAsync(
        ILoreStore store,
        string tenant,
        Func<RolloutState, RolloutState?> decide,
        Func<RolloutState, CancellationToken, Task>? prepare,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
            var next = decide(current);
            if (next is null)
            {
                return new RolloutUpdate(current, current, false);
            }

            if (prepare is not null)
            {
                await prepare(next, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                var saved = await store.SaveRolloutAsync(next with { Tenant = tenant }, current.Version, cancellationToken).ConfigureAwait(false);
                return new RolloutUpdate(current, saved, true);
            }
            catch (StoreConflictException) when (attempt < MaxAttempts)
            {
                // Someone changed the rollout since it was read: decide again on what they left.
            }
        }
    }
}
