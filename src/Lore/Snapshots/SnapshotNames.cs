namespace Lore;

/// <summary>
/// Turns what a person writes for a snapshot (its id, <c>stable</c> or <c>candidate</c>) into the tenant's snapshot,
/// so that the CLI and the REST API accept the same names and refuse an unknown one with the same message.
/// </summary>
public static class SnapshotNames
{
    /// <summary>The name of the snapshot the tenant's rollout serves to everyone outside a canary.</summary>
    public const string Stable = "stable";

    /// <summary>The name of the snapshot the tenant's rollout is trying out (shadow or canary).</summary>
    public const string Candidate = "candidate";

    /// <summary>
    /// The tenant's snapshot called <paramref name="name"/>. Throws <see cref="ArgumentException"/> for an empty name and
    /// <see cref="KeyNotFoundException"/> when the rollout has no such alias in use or the tenant has no snapshot with
    /// that id (another tenant's snapshot counts as unknown).
    /// </summary>
    public static async Task<Snapshot> ResolveAsync(ILoreStore store, string name, string tenant = Tenants.Default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException($"A snapshot is named by its id, '{Stable}' or '{Candidate}'; the name was empty.", nameof(name));
        }

        var trimmed = name.Trim();
        var id = trimmed;
        if (trimmed is Stable or Candidate)
        {
            var rollout = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
            id = (trimmed == Stable ? rollout.StableSnapshotId : rollout.CandidateSnapshotId)
                ?? throw new KeyNotFoundException(trimmed == Stable
                    ? $"Tenant '{tenant}' has no stable snapshot yet; name a snapshot by its id."
                    : $"Tenant '{tenant}' has no candidate snapshot in rollout; name a snapshot by its id.");
        }

        var snapshot = await store.GetSnapshotAsync(id, cancellationToken).ConfigureAwait(false);
        return snapshot is not null && snapshot.Tenant == tenant
            ? snapshot
            : throw new KeyNotFoundException($"No snapshot '{id}' for tenant '{tenant}': name one by its id, '{Stable}' or '{Candidate}'.");
    }
}
