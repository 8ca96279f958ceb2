using System.Globalization;

namespace Lore;

/// <summary>
/// A point of the audit chain an operator pins outside the store (a ticket, a paper log, another system): the
/// record count and the hash of the last record. Verifying against it catches what the chain alone cannot: a
/// truncated tail, or a log rewritten from some record on with every hash recomputed.
/// </summary>
/// <param name="Sequence">How many records the log had (the sequence of its last record; 0 for an empty log).</param>
/// <param name="Hash">The hash of that record (<see cref="AuditChain.Genesis"/> for an empty log).</param>
public sealed record AuditHead(long Sequence, string Hash)
{
    /// <summary>The head of an empty log.</summary>
    public static AuditHead Empty { get; } = new(0, AuditChain.Genesis);

    /// <summary>The form <see cref="Parse"/> reads and verification prints: <c>SEQUENCE:HASH</c>.</summary>
    public override string ToString() => Sequence.ToString(CultureInfo.InvariantCulture) + ":" + Hash;

    /// <summary>Reads <c>SEQUENCE:HASH</c> (as printed by verification); throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static AuditHead Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new FormatException($"The audit head '{text}' is not SEQUENCE:HASH (for example 42:{new string('0', 8)}…, as 'lore audit verify' prints it).");
        }

        if (!long.TryParse(trimmed.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            throw new FormatException($"The audit head '{text}' does not start with a record count: '{trimmed[..colon]}' is not a non-negative whole number.");
        }

        var hash = trimmed[(colon + 1)..].ToLowerInvariant();
        if (hash.Length != 64 || !hash.All(char.IsAsciiHexDigitLower))
        {
            throw new FormatException($"The audit head '{text}' does not end with a hash: '{trimmed[(colon + 1)..]}' is not 64 hexadecimal digits.");
        }

        if (sequence == 0 && hash != AuditChain.Genesis)
        {
            throw new FormatException($"The audit head '{text}' pins record 0, which only the empty log has, with hash {AuditChain.Genesis}.");
        }

        return new AuditHead(sequence, hash);
    }
}

/// <summary>What kind of tampering (or damage) verification found at the first bad record.</summary>
public enum AuditFaultKind
{
    /// <summary>The record's content no longer matches its hash, or it was rewritten with a recomputed hash that the next record's link exposes.</summary>
    Edited,

    /// <summary>Records were removed: a gap in the sequence, or later records renumbered to close it.</summary>
    Deleted,

    /// <summary>A record that the chain never linked sits among the chained ones.</summary>
    Inserted,

    /// <summary>Records are intact but not at the positions they were written at.</summary>
    Reordered,

    /// <summary>The log ends before the pinned head: its tail was removed.</summary>
    Truncated,

    /// <summary>The chain is consistent but the record at the pinned head has another hash: the log was rewritten with recomputed hashes.</summary>
    Rewritten,
}

/// <summary>The first record at which the audit log stops being the log that was written, and what is wrong there.</summary>
/// <param name="Sequence">The sequence number (position) of the first bad record.</param>
/// <param name="Kind">What kind of change was found.</param>
/// <param name="Description">One sentence for the operator: what is at that position and what was expected.</param>
public sealed record AuditFault(long Sequence, AuditFaultKind Kind, string Description);

/// <summary>
/// The outcome of verifying the audit log: how many records were read, the head to pin for the next verification,
/// and the first fault, if any.
/// </summary>
/// <param name="Records">Records read.</param>
/// <param name="Head">The last record's sequence and hash, as read (pin it to detect later truncation or rewriting).</param>
/// <param name="Fault">The first bad record and the kind of fault; null when the log verified.</param>
public sealed record AuditVerification(long Records, AuditHead Head, AuditFault? Fault)
{
    /// <summary>True when every record verified (and the pinned head, when one was given, matched).</summary>
    public bool IsIntact => Fault is null;
}

/// <summary>One tenant's own audit chain as the operator's verification found it.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Result">Its chain's verification (positions are the tenant's own, 1, 2, 3...).</param>
public sealed record TenantAuditVerification(string Tenant, AuditVerification Result);
