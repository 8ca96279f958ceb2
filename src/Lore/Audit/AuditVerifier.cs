namespace Lore;

/// <summary>
/// Recomputes the audit log's hash chain and names the first record where it breaks, with the kind of change:
/// an edited record, deleted records (a gap, or renumbered survivors), an inserted record, reordered records, and
/// (against a pinned <see cref="AuditHead"/>) a truncated tail or a log rewritten with recomputed hashes.
/// </summary>
/// <remarks>
/// The chain is unkeyed SHA-256: it proves that the log is the one whose head was pinned, not who wrote it. Someone
/// with write access to the store can append well-formed records or rewrite the whole log with fresh hashes; only a
/// head pinned outside the store (every verification prints one) exposes the rewrite. Diagnosis runs once, at the
/// first fault, and is what tells a deletion from a reordering: it looks for the position each record was written at
/// (the hash covers the sequence number) and for the record each link points to.
/// </remarks>
public static class AuditVerifier
{
    /// <summary>
    /// Reads the whole log from the store and verifies it. The happy path streams; the log is loaded into memory only
    /// to diagnose a fault.
    /// </summary>
    public static Task<AuditVerification> VerifyAsync(ILoreStore store, AuditHead? expectedHead = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        return VerifyAsync(ct => store.ReadAuditAsync(0, ct), expectedHead, cancellationToken);
    }

    /// <summary>
    /// Verifies one tenant's own chain (<see cref="ILoreStore.ReadTenantAuditAsync"/>): positions 1, 2, 3... of the
    /// tenant's entries only, so the result (and any fault it names) says nothing about other tenants. A head pinned
    /// from an earlier tenant verification catches a removed tail or a rewritten tenant log, as for the global chain.
    /// </summary>
    public static Task<AuditVerification> VerifyTenantAsync(ILoreStore store, string tenant, AuditHead? expectedHead = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        return VerifyAsync(ct => store.ReadTenantAuditAsync(tenant, 0, ct), expectedHead, cancellationToken);
    }

    /// <summary>
    /// The operator's check of every tenant's chain: each tenant found in the global log has its own chain verified,
    /// and that chain must hold exactly the tenant's global entries, in the same order with the same content (so a row
    /// removed from, or never written to, a tenant's chain is caught even at its tail). Returns one result per tenant.
    /// </summary>
    public static async Task<IReadOnlyList<TenantAuditVerification>> VerifyTenantsAsync(ILoreStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var globalByTenant = new SortedDictionary<string, List<AuditEntry>>(StringComparer.Ordinal);
        await foreach (var entry in store.ReadAuditAsync(0, cancellationToken).ConfigureAwait(false))
        {
            if (!globalByTenant.TryGetValue(entry.Tenant, out var list))
            {
                globalByTenant[entry.Tenant] = list = [];
            }

            list.Add(entry);
        }

        var results = new List<TenantAuditVerification>(globalByTenant.Count);
        foreach (var (tenant, global) in globalByTenant)
        {
            var own = new List<AuditEntry>(global.Count);
            await foreach (var entry in store.ReadTenantAuditAsync(tenant, 0, cancellationToken).ConfigureAwait(false))
            {
                own.Add(entry);
            }

            var result = Verify(own);
            if (result.IsIntact)
            {
                var mismatch = Enumerable.Range(0, Math.Min(own.Count, global.Count)).Cast<int?>()
                    .FirstOrDefault(i => !SameContent(own[i!.Value], global[i.Value]));
                if (mismatch is { } at)
                {
                    result = result with { Fault = new AuditFault(at + 1, AuditFaultKind.Edited, $"record {at + 1} of tenant '{tenant}''s chain is not the tenant's entry {global[at].Sequence} of the global log ({global[at].Action} on '{global[at].Subject}').") };
                }
                else if (own.Count != global.Count)
                {
                    result = result with
                    {
                        Fault = own.Count < global.Count
                            ? new AuditFault(own.Count + 1, AuditFaultKind.Deleted, $"tenant '{tenant}''s chain ends at record {own.Count}, but the global log holds {global.Count} entries of the tenant: the tenant's records {own.Count + 1} to {global.Count} are missing.")
                            : new AuditFault(global.Count + 1, AuditFaultKind.Inserted, $"tenant '{tenant}''s chain holds {own.Count} records, but the global log only {global.Count} entries of the tenant: the global log lost entries, or records after {global.Count} were never in it."),
                    };
                }
            }

            results.Add(new TenantAuditVerification(tenant, result));
        }

        return results;
    }

    private static bool SameContent(AuditEntry a, AuditEntry b)
        => a.At == b.At && a.Tenant == b.Tenant && a.Actor == b.Actor && a.Action == b.Action && a.Subject == b.Subject && a.Reason == b.Reason && a.DetailsJson == b.DetailsJson;

    private static async Task<AuditVerification> VerifyAsync(Func<CancellationToken, IAsyncEnumerable<AuditEntry>> read, AuditHead? expectedHead, CancellationToken cancellationToken)
    {
        long position = 0;
        var previous = AuditChain.Genesis;
        var faulty = false;
        await foreach (var entry in read(cancellationToken).ConfigureAwait(false))
        {
            position++;
            if (!Links(entry, position, previous) || (expectedHead is not null && position == expectedHead.Sequence && entry.Hash != expectedHead.Hash))
            {
                faulty = true;
                break;
            }

            previous = entry.Hash;
        }

        if (!faulty)
        {
            var head = position == 0 ? AuditHead.Empty : new AuditHead(position, previous);
            return expectedHead is not null && position < expectedHead.Sequence
                ? new AuditVerification(position, head, Truncated(position, expectedHead))
                : new AuditVerification(position, head, null);
        }

        var all = new List<AuditEntry>();
        await foreach (var entry in read(cancellationToken).ConfigureAwait(false))
        {
            all.Add(entry);
        }

        return Verify(all, expectedHead);
    }

    /// <summary>Verifies entries in the order given (the store's sequence order).</summary>
    public static AuditVerification Verify(IReadOnlyList<AuditEntry> entries, AuditHead? expectedHead = null)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var head = entries.Count == 0 ? AuditHead.Empty : new AuditHead(entries.Count, entries[^1].Hash);
        var previous = AuditChain.Genesis;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            long position = i + 1;
            if (!Links(entry, position, previous))
            {
                return new AuditVerification(entries.Count, head, Diagnose(entries, i));
            }

            if (expectedHead is not null && position == expectedHead.Sequence && entry.Hash != expectedHead.Hash)
            {
                return new AuditVerification(entries.Count, head, new AuditFault(
                    position,
                    AuditFaultKind.Rewritten,
                    $"record {position} has hash {Short(entry.Hash)}, but the pinned head {expectedHead.Sequence}:{Short(expectedHead.Hash)} says otherwise: the log was rewritten at or before record {position} with recomputed hashes."));
            }

            previous = entry.Hash;
        }

        return expectedHead is not null && entries.Count < expectedHead.Sequence
            ? new AuditVerification(entries.Count, head, Truncated(entries.Count, expectedHead))
            : new AuditVerification(entries.Count, head, null);
    }

    /// <summary>True when the entry sits at its position, its content matches its hash, and it links to the record before.</summary>
    private static bool Links(AuditEntry entry, long position, string previousHash)
        => entry.Sequence == position && entry.PreviousHash == previousHash && AuditChain.ComputeHash(entry) == entry.Hash;

    private static AuditFault Truncated(long records, AuditHead expected)
        => new(
            records + 1,
            AuditFaultKind.Truncated,
            records == 0
                ? $"the log is empty, but the pinned head is record {expected.Sequence}: every record was removed."
                : $"the log ends at record {records}, but the pinned head is record {expected.Sequence}: records {records + 1} to {expected.Sequence} were removed.");

    /// <summary>Names the kind of fault at entries[index], the first entry that does not link.</summary>
    private static AuditFault Diagnose(IReadOnlyList<AuditEntry> entries, int index)
    {
        var entry = entries[index];
        long position = index + 1;
        var previousHash = index == 0 ? AuditChain.Genesis : entries[index - 1].Hash;

        if (entry.Sequence != position)
        {
            if (entry.Sequence < position)
            {
                return new AuditFault(position, AuditFaultKind.Reordered, $"position {position} holds a record numbered {entry.Sequence}: records are out of order, or record {entry.Sequence} appears twice.");
            }

            var later = FindIndex(entries, index + 1, e => e.Sequence == position || HashesAt(e, position));
            return later >= 0
                ? new AuditFault(position, AuditFaultKind.Reordered, $"position {position} holds record {entry.Sequence}, and the record written as {position} comes later, at position {later + 1} (numbered {entries[later].Sequence}): records were reordered.")
                : new AuditFault(position, AuditFaultKind.Deleted, (entry.Sequence == position + 1 ? $"record {position} is missing" : $"records {position} to {entry.Sequence - 1} are missing")
                    + (position == 1 ? $": the log starts at record {entry.Sequence}." : $": the log goes from record {position - 1} to record {entry.Sequence}."));
        }

        if (AuditChain.ComputeHash(entry) != entry.Hash)
        {
            if (WrittenAs(entries, index) is { } written)
            {
                if (written > position)
                {
                    var moved = FindIndex(entries, index + 1, e => HashesAt(e, position));
                    return moved >= 0
                        ? new AuditFault(position, AuditFaultKind.Reordered, $"position {position} holds the record written as record {written}, and the record written as {position} is at position {moved + 1}: records were reordered.")
                        : new AuditFault(position, AuditFaultKind.Deleted, written == position + 1
                            ? $"position {position} holds the record written as record {written}: record {position} was deleted and the later records renumbered."
                            : $"position {position} holds the record written as record {written}: records {position} to {written - 1} were deleted and the later records renumbered.");
                }

                var predecessor = entry.PreviousHash == AuditChain.Genesis ? -1 : FindIndex(entries, 0, e => e.Hash == entry.PreviousHash);
                var first = predecessor >= 0 || entry.PreviousHash == AuditChain.Genesis ? predecessor + 2 : written;
                first = Math.Clamp(first, 1, position - 1);
                return new AuditFault(first, AuditFaultKind.Inserted, first == position - 1
                    ? $"the record at position {first} was never chained: the record after it was written as record {written}, right after the record at position {first - 1}."
                    : $"the records at positions {first} to {position - 1} were never chained: the record at position {position} was written as record {written}.");
            }

            if (index + 1 < entries.Count && HashesAt(entries[index + 1], position) && entries[index + 1].PreviousHash == previousHash)
            {
                return new AuditFault(position, AuditFaultKind.Inserted, $"the record at position {position} was never chained: the next record was written as record {position}, right after record {position - 1}.");
            }

            return new AuditFault(position, AuditFaultKind.Edited, $"record {position} ({entry.Action} on '{entry.Subject}') no longer matches its hash {Short(entry.Hash)}: it was changed after it was written.");
        }

        // The record is intact at its position, but links elsewhere.
        if (index == 0)
        {
            return new AuditFault(1, AuditFaultKind.Deleted, $"the first record links to an earlier record ({Short(entry.PreviousHash)}) instead of the start of the log: records before it were deleted and the rest re-hashed.");
        }

        var target = FindIndex(entries, 0, e => e.Hash == entry.PreviousHash);
        if (target > index)
        {
            return new AuditFault(position, AuditFaultKind.Reordered, $"record {position} links to the record now at position {target + 1}, which comes after it: records were reordered and re-hashed.");
        }

        if (target >= 0)
        {
            return new AuditFault(target + 2, AuditFaultKind.Inserted, target + 2 == position - 1
                ? $"the record at position {target + 2} was never chained: record {position} links to record {target + 1}."
                : $"the records at positions {target + 2} to {position - 1} were never chained: record {position} links to record {target + 1}.");
        }

        return new AuditFault(position - 1, AuditFaultKind.Edited, $"record {position - 1} is not the record that record {position} was chained to: it was rewritten with a recomputed hash, or replaced.");
    }

    /// <summary>The sequence number the entry's hash was computed with, when it is not its current one (the record was moved or renumbered).</summary>
    private static long? WrittenAs(IReadOnlyList<AuditEntry> entries, int index)
    {
        var entry = entries[index];

        // The cheap guess first: one more than the written sequence of the record its link points to.
        var predecessor = entry.PreviousHash == AuditChain.Genesis ? -1 : FindIndex(entries, 0, e => e.Hash == entry.PreviousHash);
        if (entry.PreviousHash == AuditChain.Genesis && HashesAt(entry, 1))
        {
            return 1;
        }

        if (predecessor >= 0)
        {
            var guess = predecessor + 2L;
            if (guess != entry.Sequence && HashesAt(entry, guess))
            {
                return guess;
            }

            var renumbered = entries[predecessor].Sequence + 1;
            if (renumbered != entry.Sequence && HashesAt(entry, renumbered))
            {
                return renumbered;
            }
        }

        // Then every plausible position: anywhere in the log, or past its end by as many records as were removed.
        var limit = entries.Count + Math.Max(1024, entries.Count);
        for (long s = 1; s <= limit; s++)
        {
            if (s != entry.Sequence && HashesAt(entry, s))
            {
                return s;
            }
        }

        return null;
    }

    /// <summary>True when the entry's hash is what it would be at sequence <paramref name="sequence"/> (its content is intact there).</summary>
    private static bool HashesAt(AuditEntry entry, long sequence)
        => AuditChain.ComputeHash(entry with { Sequence = sequence }) == entry.Hash;

    private static int FindIndex(IReadOnlyList<AuditEntry> entries, int start, Func<AuditEntry, bool> match)
    {
        for (var i = start; i < entries.Count; i++)
        {
            if (match(entries[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static string Short(string hash) => hash.Length <= 12 ? hash : hash[..12] + "…";
}
