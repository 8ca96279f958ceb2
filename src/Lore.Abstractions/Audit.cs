using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Lore;

/// <summary>A change to be written to the audit log; the store assigns its sequence and chains its hash.</summary>
public sealed record AuditDraft
{
    /// <summary>The tenant whose log the entry joins; each tenant's chain verifies on its own.</summary>
    public required string Tenant { get; init; }

    /// <summary>Who made the change: a person ("cli:alice"), a key, or a stage ("learning", "rollout-monitor").</summary>
    public required string Actor { get; init; }

    /// <summary>What happened; one of <see cref="AuditActions"/>.</summary>
    public required string Action { get; init; }

    /// <summary>What it happened to: a lesson id, snapshot id, episode count, configuration name.</summary>
    public required string Subject { get; init; }

    /// <summary>Why, in the actor's words; empty for routine automatic actions.</summary>
    public string Reason { get; init; } = "";

    /// <summary>Links to the evidence as a JSON object (ids, effect sizes, rule names); never deleted content.</summary>
    public string DetailsJson { get; init; } = "{}";

    /// <summary>When the change happened (the store keeps this, not the time of writing).</summary>
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

    /// <summary>When the change happened.</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>The tenant whose log holds the entry.</summary>
    public required string Tenant { get; init; }

    /// <summary>Who made the change: a person, a key, or a stage such as "learning".</summary>
    public required string Actor { get; init; }

    /// <summary>What happened; one of <see cref="AuditActions"/>.</summary>
    public required string Action { get; init; }

    /// <summary>What it happened to: a lesson id, snapshot id, episode count or configuration name.</summary>
    public required string Subject { get; init; }

    /// <summary>Why, in the actor's words.</summary>
    public string Reason { get; init; } = "";

    /// <summary>Links to the evidence as a JSON object (ids, effect sizes, rule names).</summary>
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
    /// <summary>The previous hash of the first entry of a chain (64 zeros).</summary>
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
    /// <summary>A learned lesson passed the admission guards and may be served.</summary>
    public const string LessonAdmitted = "lesson.admitted";
    /// <summary>A learned lesson was refused by a blocking guard; it is kept with its findings but never served.</summary>
    public const string LessonRejected = "lesson.rejected";
    /// <summary>A learned lesson waits for a person's decision before it may be served.</summary>
    public const string LessonQueuedForReview = "lesson.queued-for-review";
    /// <summary>A lesson was retired (harmful effect, contradiction or a person's decision).</summary>
    public const string LessonRetired = "lesson.retired";
    /// <summary>A person wrote a lesson by hand.</summary>
    public const string LessonAuthored = "lesson.authored";
    /// <summary>A person changed a lesson's text, trigger or scope; the earlier version stays in its lineage.</summary>
    public const string LessonEdited = "lesson.edited";
    /// <summary>A lesson was pinned: injected whenever it is in scope.</summary>
    public const string LessonPinned = "lesson.pinned";
    /// <summary>A lesson was unpinned and is retrieved like any other again.</summary>
    public const string LessonUnpinned = "lesson.unpinned";
    /// <summary>A person let a lesson through a guard that had flagged it.</summary>
    public const string ScreenOverridden = "lesson.screen-overridden";
    /// <summary>A snapshot was exported as a signed bundle.</summary>
    public const string SnapshotExported = "snapshot.exported";
    /// <summary>A signed bundle was imported as a snapshot.</summary>
    public const string SnapshotImported = "snapshot.imported";
    /// <summary>A bundle was refused on import (bad signature, wrong tenant, tampered content).</summary>
    public const string SnapshotImportRefused = "snapshot.import-refused";
    /// <summary>A reviewer approved a queued lesson.</summary>
    public const string ReviewApproved = "review.approved";
    /// <summary>A reviewer rejected a queued lesson.</summary>
    public const string ReviewRejected = "review.rejected";
    /// <summary>A new snapshot was stored.</summary>
    public const string SnapshotCreated = "snapshot.created";
    /// <summary>A snapshot entered shadow: retrieved and logged, never injected.</summary>
    public const string SnapshotShadow = "snapshot.shadow";
    /// <summary>A snapshot entered canary: served to a share of units.</summary>
    public const string SnapshotCanary = "snapshot.canary";
    /// <summary>A candidate passed the offline evaluation gating its canary.</summary>
    public const string CanaryGatePassed = "snapshot.canary-gate-passed";
    /// <summary>A candidate failed the offline evaluation gating its canary and stays out of rollout.</summary>
    public const string CanaryGateFailed = "snapshot.canary-gate-failed";
    /// <summary>A candidate became the stable snapshot for every unit.</summary>
    public const string SnapshotPromoted = "snapshot.promoted";
    /// <summary>The rollout went back to an earlier snapshot.</summary>
    public const string SnapshotRolledBack = "snapshot.rolled-back";

    /// <summary>A failure mode grew under a candidate in canary: it is held from automatic promotion (the details carry the evidence).</summary>
    public const string FailureShiftDetected = "snapshot.failure-shift";

    /// <summary>A stored snapshot's content no longer hashes to its id: it was refused for serving.</summary>
    public const string SnapshotIntegrityFailed = "snapshot.integrity-failed";
    /// <summary>The rollout was frozen: nothing changes what is served until it is unfrozen.</summary>
    public const string Frozen = "rollout.frozen";
    /// <summary>The rollout was unfrozen.</summary>
    public const string Unfrozen = "rollout.unfrozen";
    /// <summary>A runtime or policy setting was changed.</summary>
    public const string ConfigurationChanged = "configuration.changed";
    /// <summary>Episodes were deleted on request (erasure); the entry records how many, never their content.</summary>
    public const string EpisodesDeleted = "episodes.deleted";

    /// <summary>Episodes left open by a process that died were ended as <see cref="EpisodeEndReasons.Abandoned"/>.</summary>
    public const string EpisodesAbandoned = "episodes.abandoned";
    /// <summary>The retention policy deleted old episodes.</summary>
    public const string RetentionApplied = "retention.applied";
    /// <summary>Someone asked for a learning pass outside the schedule.</summary>
    public const string LearningRequested = "learning.requested";
    /// <summary>An API key was issued.</summary>
    public const string ApiKeyCreated = "api-key.created";
    /// <summary>An API key was revoked and will never authenticate again.</summary>
    public const string ApiKeyRevoked = "api-key.revoked";
    /// <summary>An API key's permission to assert units was changed.</summary>
    public const string ApiKeyTrustChanged = "api-key.trust-changed";
}
