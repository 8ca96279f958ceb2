namespace Lore;

/// <summary>A snapshot that does not verify, and why.</summary>
/// <param name="Tenant">Whose snapshot it is (or whose rollout names it).</param>
/// <param name="SnapshotId">The snapshot's id.</param>
/// <param name="Served">True when the tenant's rollout serves it (as stable or candidate).</param>
/// <param name="Problem">One sentence for the operator.</param>
public sealed record SnapshotFault(string Tenant, string SnapshotId, bool Served, string Problem);

/// <summary>The outcome of verifying every stored snapshot and each tenant's served pointer.</summary>
/// <param name="Snapshots">Snapshots checked against their content address.</param>
/// <param name="Tenants">Tenants whose snapshots and rollout were checked.</param>
/// <param name="Faults">Every snapshot that does not match its content address, and every pointer to a missing snapshot.</param>
public sealed record SnapshotVerification(int Snapshots, IReadOnlyList<string> Tenants, IReadOnlyList<SnapshotFault> Faults)
{
    /// <summary>True when every snapshot and every served pointer verified.</summary>
    public bool IsIntact => Faults.Count == 0;
}

/// <summary>
/// Checks what the audit chain alone cannot: that every stored snapshot's content still hashes to its id (an edited
/// lesson text in a stored snapshot changes that hash), and that each tenant's rollout points at snapshots that are
/// stored and intact, so what agents are served is what was learned and audited.
/// </summary>
public static class SnapshotVerifier
{
    /// <summary>
    /// Verifies the snapshots of every tenant the store knows of (tenants named in the audit log, by API keys, or in
    /// <paramref name="tenants"/>), and their rollouts.
    /// </summary>
    public static async Task<SnapshotVerification> VerifyAsync(ILoreStore store, IEnumerable<string>? tenants = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var known = new SortedSet<string>(tenants ?? [], StringComparer.Ordinal) { Tenants.Default };
        await foreach (var entry in store.ReadAuditAsync(0, cancellationToken).ConfigureAwait(false))
        {
            known.Add(entry.Tenant);
        }

        foreach (var key in await store.ListApiKeysAsync(null, cancellationToken).ConfigureAwait(false))
        {
            known.Add(key.Tenant);
        }

        var faults = new List<SnapshotFault>();
        var checkedCount = 0;
        foreach (var tenant in known)
        {
            var rollout = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
            var served = new HashSet<string>(StringComparer.Ordinal);
            if (rollout.StableSnapshotId is { } stable)
            {
                served.Add(stable);
            }

            if (rollout.CandidateSnapshotId is { } candidate)
            {
                served.Add(candidate);
            }

            var listed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var summary in await store.ListSnapshotsAsync(tenant, cancellationToken).ConfigureAwait(false))
            {
                listed.Add(summary.Id);
                checkedCount++;
                var snapshot = await store.GetSnapshotAsync(summary.Id, cancellationToken).ConfigureAwait(false);
                if (snapshot is null)
                {
                    continue; // erased between the listing and the read
                }

                if (!snapshot.IsIntact)
                {
                    var actual = snapshot.StoredContentAddress ?? Snapshot.ComputeId(snapshot.ParentId, snapshot.Tenant, snapshot.Lessons, snapshot.Settings);
                    faults.Add(new SnapshotFault(tenant, snapshot.Id, served.Contains(snapshot.Id),
                        $"its stored content hashes to '{actual}', not to its id: it was changed after it was made{(served.Contains(snapshot.Id) ? "; it is the served pointer, and Lore refuses to serve it" : "")}"));
                }
            }

            foreach (var id in served.Where(id => !listed.Contains(id)))
            {
                faults.Add(new SnapshotFault(tenant, id, true, "the rollout serves it, but no such snapshot of this tenant is stored"));
            }
        }

        return new SnapshotVerification(checkedCount, [.. known], faults);
    }
}
