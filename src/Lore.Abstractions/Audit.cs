using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Lore;

/// <summary>A change to be written to the audit log; the store assigns its sequence and chains its hash.</summary>
public sealed record AuditDraft
{
    public required string Tenant { get; init; }

    /// <summary>Who made the change: a person ("cli:alice"), a key, or a stage ("learning", "rollout-monitor").</summary>
    public required string Actor { get; init; }

    /// <summary>What happened; one of <see cref="AuditActions"/>.</summary>
    public required string Action { get; init; }

    /// <summary>What it happened to: a lesson id, snapshot id, episode count, configuration name.</summary>
    public required string Subject { get; init; }

    public string Reason { get; init; } = "";

    /// <summary>Links to the evidence as a JSON object (ids, effect sizes, rule names); never deleted content.</summary>
    public string DetailsJson { get; init; } = "{}";

    public DateTimeOffset At { get; init; }
}

/// <summary>
/// One record of the append-only audit log. Each record's hash covers its content and the previous record's
/// hash, so editing, deleting or reordering any record breaks the chain at that record.
/// </summary>
public sealed record AuditEntry
{
    /// <summary>Position in the log, from 1, without gaps.</summary>
    public required long Sequence { get; init; }

    public required DateTimeOffset At { get; init; }

    public required string Tenant { get; init; }

    public required string Actor { get; init; }

    public required string Action { get; init; }

    public required string Subject { get; init; }

    public string Reason { get; init; } = "";

    public string DetailsJson { get; init; } = "{}";

    /// <summary>The hash of the record before (64 zeros for the first).</summary>
    public required string PreviousHash { get; init; }

    /// <summary>SHA-256 (hex) over the previous hash and this record's canonical content.</summary>
    public required string Hash { get; init; }

    /// <summary>Builds the entry that follows <paramref name="previous"/> (null for the first), computing its hash.</summary>
    public static AuditEntry Chain(AuditEntry? previous, AuditDraft draft)
    {
        var sequence = (previous?.Sequence ?? 0) + 1;
        var previousHash = previous?.Hash ?? AuditChain.Genesis;
        var at = draft.At == default ? DateTimeOffset.UtcNow : draft.At;
        var entry = new AuditEntry
        {
            Sequence = sequence,
            At = at.ToUniversalTime(),
            Tenant = draft.Tenant,
            Actor = draft.Actor,
            Action = draft.Action,
            Subject = draft.Subject,
            Reason = draft.Reason,
            DetailsJson = draft.DetailsJson,
            PreviousHash = previousHash,
            Hash = "",
        };
        return entry with { Hash = AuditChain.ComputeHash(entry) };
    }
}

/// <summary>The hashing rule of the audit chain, shared by every store and by verification.</summary>
public static class AuditChain
{
    public const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>
    /// The entry as it stands in its tenant's own chain: the same content, numbered by its position among the
    /// tenant's entries and hashed over the tenant's previous entry (<paramref name="tenantPrevious"/>, null for the
    /// tenant's first), so a tenant's log verifies exactly as the global one does and reveals nothing of the others.
    /// </summary>
    public static AuditEntry ForTenant(AuditEntry entry, AuditEntry? tenantPrevious)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (tenantPrevious is not null && tenantPrevious.Tenant != entry.Tenant)
        {
            throw new ArgumentException($"The previous entry is tenant '{tenantPrevious.Tenant}''s, not '{entry.Tenant}''s.", nameof(tenantPrevious));
        }

        var chained = entry with
        {
            Sequence = (tenantPrevious?.Sequence ?? 0) + 1,
            PreviousHash = tenantPrevious?.Hash ?? Genesis,
            Hash = "",
        };
        return chained with { Hash = ComputeHash(chained) };
    }

    /// <summary>SHA-256 over the previous hash and the length-prefixed fields, so no two field splits collide.</summary>
    public static string ComputeHash(AuditEntry entry)
    {
        var builder = new StringBuilder();
        void Field(string value) => builder.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value).Append('|');
        Field(entry.PreviousHash);
        Field(entry.Sequence.ToString(CultureInfo.InvariantCulture));
        Field(entry.At.UtcTicks.ToString(CultureInfo.InvariantCulture));
        Field(entry.Tenant);
        Field(entry.Actor);
        Field(entry.Action);
        Field(entry.Subject);
        Field(entry.Reason);
        Field(entry.DetailsJson);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString())));
    }
}

/// <summary>The actions the audit log records.</summary>
public static class AuditActions
{
    public const string LessonAdmitted = "lesson.admitted";
    public const string LessonRejected = "lesson.rejected";
    public const string LessonQueuedForReview = "lesson.queued-for-review";
    public const string LessonRetired = "lesson.retired";
    public const string LessonAuthored = "lesson.authored";
    public const string LessonEdited = "lesson.edited";
    public const string LessonPinned = "lesson.pinned";
    public const string LessonUnpinned = "lesson.unpinned";
    public const string ScreenOverridden = "lesson.screen-overridden";
    public const string SnapshotExported = "snapshot.exported";
    public const string SnapshotImported = "snapshot.imported";
    public const string SnapshotImportRefused = "snapshot.import-refused";
    public const string ReviewApproved = "review.approved";
    public const string ReviewRejected = "review.rejected";
    public const string SnapshotCreated = "snapshot.created";
    public const string SnapshotShadow = "snapshot.shadow";
    public const string SnapshotCanary = "snapshot.canary";
    public const string CanaryGatePassed = "snapshot.canary-gate-passed";
    public const string CanaryGateFailed = "snapshot.canary-gate-failed";
    public const string SnapshotPromoted = "snapshot.promoted";
    public const string SnapshotRolledBack = "snapshot.rolled-back";

    /// <summary>A failure mode grew under a candidate in canary: it is held from automatic promotion (the details carry the evidence).</summary>
    public const string FailureShiftDetected = "snapshot.failure-shift";

    /// <summary>A stored snapshot's content no longer hashes to its id: it was refused for serving.</summary>
    public const string SnapshotIntegrityFailed = "snapshot.integrity-failed";
    public const string Frozen = "rollout.frozen";
    public const string Unfrozen = "rollout.unfrozen";
    public const string ConfigurationChanged = "configuration.changed";
    public const string EpisodesDeleted = "episodes.deleted";

    /// <summary>Episodes left open by a process that died were ended as <see cref="EpisodeEndReasons.Abandoned"/>.</summary>
    public const string EpisodesAbandoned = "episodes.abandoned";
    public const string RetentionApplied = "retention.applied";
    public const string LearningRequested = "learning.requested";
    public const string ApiKeyCreated = "api-key.created";
    public const string ApiKeyRevoked = "api-key.revoked";
    public const string ApiKeyTrustChanged = "api-key.trust-changed";
}
