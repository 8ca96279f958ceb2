using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lore.Learning.Authoring;
using Lore.Learning.Guards;

namespace Lore.Learning.Bundles;

/// <summary>A bundle that cannot be imported, with the check that failed (format, content-address, signature, lessons, screen).</summary>
public sealed class BundleRefusedException(string check, string message) : Exception(message)
{
    /// <summary>The check that failed: <c>format</c>, <c>content-address</c>, <c>signature</c>, <c>lessons</c> or <c>screen</c>.</summary>
    public string Check { get; } = check;
}

/// <summary>What an export wrote: the snapshot it exported, the portable snapshot's address, and what was left out.</summary>
public sealed record BundleExport(string SourceSnapshotId, string ContentAddress, int Lessons, IReadOnlyList<string> Withheld, string? KeyId, int AuditEntries);

/// <summary>What an import did: the verified bundle, the snapshot made for this tenant, and where it stands in the rollout.</summary>
public sealed record BundleImport(string SourceSnapshotId, string SourceTenant, string ContentAddress, string? KeyId, string SnapshotId, IReadOnlyList<string> LessonIds, RolloutState Rollout, string Where);

/// <summary>How an import enters the tenant and who does it.</summary>
/// <param name="Actor">Who imports (audited).</param>
/// <param name="Role">The actor's role; importing needs admin.</param>
/// <param name="Reason">Why (audited).</param>
public sealed record BundleImportOptions(string Actor, ApiKeyRole Role, string Reason)
{
    /// <summary>The key the bundle must be signed with; null accepts an unsigned bundle only when <see cref="AllowUnsigned"/>.</summary>
    public BundleKey? Key { get; init; }

    /// <summary>Accept a bundle without a signature (its content address is still verified).</summary>
    public bool AllowUnsigned { get; init; }

    /// <summary>Where the imported snapshot enters: canary by default, so a promotion between stores is a staged rollout with evaluation.</summary>
    public RolloutPolicy Entry { get; init; } = new() { EntryStage = RolloutStage.Canary, CanaryShare = 0.1 };
}

/// <summary>
/// Moves a vetted learned state between stores and tenants as a self-contained bundle: the snapshot's lessons with
/// their provenance summaries and audit excerpt, its content address, and optionally a signature. A bundle never
/// carries episodes or personal data: evidence keeps its counts but not its episode ids or feedback, lessons about one
/// unit are withheld, and texts pass the personal-data redaction. An import verifies the address (and the signature),
/// screens every lesson with the importing tenant's content screen, and hands a new snapshot (child of the tenant's
/// stable one) to the rollout as a candidate: staging to production is a staged rollout with evaluation, not a copy.
/// </summary>
public static class SnapshotBundles
{
    /// <summary>The format name written into every bundle.</summary>
    public const string Format = "lore-snapshot-bundle/1";

    private const int MaxBundleBytes = 64 * 1024 * 1024;

    /// <summary>Writes the bundle of a tenant's snapshot to <paramref name="output"/>, signed when a key is given, and audits the export.</summary>
    public static async Task<BundleExport> ExportAsync(LearningPipeline pipeline, string tenant, string snapshotId, Stream output, string actor, BundleKey? key = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(snapshotId);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        var store = pipeline.Store;
        var snapshot = await store.GetSnapshotAsync(snapshotId, cancellationToken).ConfigureAwait(false);
        if (snapshot is null || snapshot.Tenant != tenant)
        {
            throw new KeyNotFoundException($"No snapshot '{snapshotId}' for tenant '{tenant}'.");
        }

        if (!snapshot.IsIntact)
        {
            throw new SnapshotIntegrityException(snapshot.Id, snapshot.StoredContentAddress, $"Snapshot '{snapshot.Id}' does not match its content address (its stored content hashes to {snapshot.StoredContentAddress}); it cannot be exported.");
        }

        var redactor = pipeline.Redactor;
        var withheld = new List<string>();
        var portable = new List<Lesson>();
        foreach (var lesson in snapshot.Lessons)
        {
            if (lesson.Scope.UnitKey is not null || lesson.Kind == LessonKind.UserFact)
            {
                // A lesson about one unit is personal data of that unit: it stays in its store.
                withheld.Add(lesson.Id);
                continue;
            }

            portable.Add(Portable(lesson, redactor));
        }

        var exported = Snapshot.Create(null, tenant, portable, snapshot.Settings, snapshot.CreatedBy, $"portable export of {snapshot.Id}: {snapshot.Reason}", snapshot.CreatedAt);
        var ids = snapshot.Lessons.Select(l => l.Id).Append(snapshot.Id).ToArray();
        var audit = new List<object>();
        await foreach (var entry in store.ReadTenantAuditAsync(tenant, 0, cancellationToken).ConfigureAwait(false))
        {
            if (ids.Any(id => entry.Subject == id || entry.DetailsJson.Contains(id, StringComparison.Ordinal)))
            {
                audit.Add(new { tenantSequence = entry.Sequence, at = entry.At, actor = entry.Actor, action = entry.Action, subject = entry.Subject, reason = redactor.RedactText(entry.Reason), hash = entry.Hash });
            }
        }

        var payload = new
        {
            format = Format,
            exportedAt = pipeline.Time.GetUtcNow(),
            exportedBy = actor,
            source = new { tenant, snapshot = snapshot.Id, parent = snapshot.ParentId, createdAt = snapshot.CreatedAt },
            contentAddress = exported.Id,
            snapshot = exported,
            provenance = exported.Lessons.Select(Provenance),
            withheld = withheld.Select(id => new { lesson = id, why = "scoped to one unit (personal data stays in its store)" }),
            audit,
        };
        var payloadBytes = JsonSerializer.SerializeToUtf8Bytes(payload, LoreJson.Options);
        await using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartObject();
            writer.WriteString("format", Format);
            writer.WritePropertyName("payload");
            writer.WriteRawValue(payloadBytes, skipInputValidation: true);
            if (key is not null)
            {
                writer.WriteStartObject("signature");
                writer.WriteString("algorithm", key.Algorithm);
                writer.WriteString("keyId", key.KeyId);
                writer.WriteString("value", key.Sign(payloadBytes));
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        await store.AppendAuditAsync(
            new AuditDraft
            {
                Tenant = tenant,
                Actor = actor,
                Action = AuditActions.SnapshotExported,
                Subject = snapshot.Id,
                Reason = key is null ? "exported unsigned" : $"exported signed with {key.KeyId}",
                DetailsJson = JsonSerializer.Serialize(new { snapshot = snapshot.Id, contentAddress = exported.Id, lessons = exported.Lessons.Count, withheld, keyId = key?.KeyId, algorithm = key?.Algorithm }, LoreJson.Options),
                At = pipeline.Time.GetUtcNow(),
            },
            cancellationToken).ConfigureAwait(false);
        return new BundleExport(snapshot.Id, exported.Id, exported.Lessons.Count, withheld, key?.KeyId, audit.Count);
    }

    /// <summary>
    /// Verifies a bundle without importing it: its format, its content address and (when a key is given or the bundle
    /// is signed) its signature. Throws <see cref="BundleRefusedException"/> naming the check that failed.
    /// </summary>
    public static VerifiedBundle Verify(ReadOnlySpan<byte> bundle, BundleKey? key, bool allowUnsigned)
    {
        if (bundle.Length > MaxBundleBytes)
        {
            throw new BundleRefusedException("format", $"The bundle is {bundle.Length} bytes; at most {MaxBundleBytes} are read.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bundle.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new BundleRefusedException("format", $"The file is not a Lore snapshot bundle: it is not JSON ({e.Message}).");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out var format) || format.ValueKind != JsonValueKind.String || format.GetString() != Format)
            {
                throw new BundleRefusedException("format", $"The file is not a Lore snapshot bundle: it has no \"format\": \"{Format}\".");
            }

            if (!root.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object)
            {
                throw new BundleRefusedException("format", "The bundle has no payload object.");
            }

            var payloadText = payload.GetRawText();
            string? keyId = null;
            if (root.TryGetProperty("signature", out var signature))
            {
                var algorithm = Text(signature, "algorithm");
                keyId = Text(signature, "keyId");
                var value = Text(signature, "value");
                if (key is null)
                {
                    throw new BundleRefusedException("signature", $"The bundle is signed ({algorithm}, key {keyId}): give the key to verify it with.");
                }

                if (algorithm != key.Algorithm || keyId != key.KeyId)
                {
                    throw new BundleRefusedException("signature", $"The bundle is signed with {algorithm} key {keyId}, not with the key given ({key.Algorithm} {key.KeyId}).");
                }

                if (!key.Verify(Encoding.UTF8.GetBytes(payloadText), value))
                {
                    throw new BundleRefusedException("signature", $"The signature does not match the payload: the bundle was changed after it was signed with key {keyId}.");
                }
            }
            else if (key is not null || !allowUnsigned)
            {
                throw new BundleRefusedException("signature", key is null
                    ? "The bundle is not signed; import it only if you trust where it came from (allow unsigned bundles explicitly)."
                    : $"The bundle is not signed, but key {key.KeyId} was given: an unsigned bundle cannot prove it came from that key's holder.");
            }

            if (!payload.TryGetProperty("snapshot", out var snapshotElement) || snapshotElement.ValueKind != JsonValueKind.Object)
            {
                throw new BundleRefusedException("format", "The bundle's payload has no snapshot.");
            }

            var claimed = payload.TryGetProperty("contentAddress", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
            string actual;
            Snapshot snapshot;
            try
            {
                actual = Snapshot.AddressOfStoredJson(snapshotElement.GetRawText());
                snapshot = snapshotElement.Deserialize<Snapshot>(LoreJson.Options) ?? throw new JsonException("null snapshot");
            }
            catch (JsonException e)
            {
                throw new BundleRefusedException("format", $"The bundle's snapshot is not a snapshot Lore can read: {e.Message}");
            }

            if (actual != claimed || snapshot.Id != claimed)
            {
                throw new BundleRefusedException("content-address", $"The bundle's snapshot content hashes to {actual}, but the bundle claims {claimed} (snapshot id {snapshot.Id}): its lessons or settings were changed after export.");
            }

            var ids = snapshot.Lessons.Select(l => l.Id).ToArray();
            if (ids.Distinct(StringComparer.Ordinal).Count() != ids.Length || snapshot.Lessons.Any(l => l.IsRetired || l.Status != LessonStatus.Active || string.IsNullOrWhiteSpace(l.Text)))
            {
                throw new BundleRefusedException("lessons", "The bundle's snapshot holds a duplicate, retired, inactive or empty lesson; a snapshot Lore exported never does.");
            }

            if (snapshot.Lessons.Any(l => l.Scope.UnitKey is not null || l.Evidence.EpisodeIds.Count > 0 || l.Evidence.Feedback.Count > 0))
            {
                throw new BundleRefusedException("lessons", "The bundle's snapshot carries unit-scoped lessons, episode ids or feedback; a Lore bundle never carries personal data.");
            }

            var source = payload.TryGetProperty("source", out var s) ? s : default;
            return new VerifiedBundle(
                snapshot,
                source.ValueKind == JsonValueKind.Object ? Text(source, "snapshot") : snapshot.Id,
                source.ValueKind == JsonValueKind.Object ? Text(source, "tenant") : snapshot.Tenant,
                claimed,
                keyId);
        }
    }

    /// <summary>
    /// Verifies a bundle and imports it into a tenant: each lesson passes the tenant's content screen, and a snapshot
    /// holding them (child of the tenant's stable one) enters the rollout as <see cref="BundleImportOptions.Entry"/>
    /// says, in one transaction with its audit. A refused bundle is audited as refused and changes nothing else.
    /// </summary>
    public static async Task<BundleImport> ImportAsync(LearningPipeline pipeline, string tenant, byte[] bundle, BundleImportOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Reason);
        if (options.Role < ApiKeyRole.Admin)
        {
            throw new UnauthorizedAccessException("Only an admin may import learned state into a tenant.");
        }

        options.Entry.Validate();
        var store = pipeline.Store;
        var now = pipeline.Time.GetUtcNow();
        VerifiedBundle verified;
        try
        {
            verified = Verify(bundle, options.Key, options.AllowUnsigned);
            await ScreenAsync(pipeline, verified.Snapshot, cancellationToken).ConfigureAwait(false);
        }
        catch (BundleRefusedException e)
        {
            await store.AppendAuditAsync(
                new AuditDraft
                {
                    Tenant = tenant,
                    Actor = options.Actor,
                    Action = AuditActions.SnapshotImportRefused,
                    Subject = "bundle:" + Convert.ToHexStringLower(SHA256.HashData(bundle))[..16],
                    Reason = e.Message,
                    DetailsJson = JsonSerializer.Serialize(new { check = e.Check, bytes = bundle.Length }, LoreJson.Options),
                    At = now,
                },
                cancellationToken).ConfigureAwait(false);
            throw;
        }

        var origin = $"bundle {verified.ContentAddress} (snapshot {verified.SourceSnapshotId} of tenant '{verified.SourceTenant}'{(verified.KeyId is null ? ", unsigned" : $", signed by {verified.KeyId}")})";
        var lessons = verified.Snapshot.Lessons.Select(l => l with
        {
            Id = verified.SourceTenant == tenant ? l.Id : ImportedId(tenant, l.Id),
            Scope = l.Scope with { Tenant = tenant },
            Authorship = l.Authorship is null ? null : l.Authorship with { ImportedFrom = origin },
        }).ToArray();

        var state = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
        var stableId = state.StableSnapshotId ?? await store.GetActiveSnapshotIdAsync(tenant, cancellationToken).ConfigureAwait(false);
        var snapshot = Snapshot.Create(stableId, tenant, lessons, verified.Snapshot.Settings, options.Actor, $"imported {origin}: {options.Reason.Trim()}", now);
        var imported = new AuditDraft
        {
            Tenant = tenant,
            Actor = options.Actor,
            Action = AuditActions.SnapshotImported,
            Subject = snapshot.Id,
            Reason = options.Reason.Trim(),
            DetailsJson = JsonSerializer.Serialize(
                new
                {
                    snapshot = snapshot.Id,
                    parent = stableId,
                    bundle = verified.ContentAddress,
                    sourceSnapshot = verified.SourceSnapshotId,
                    sourceTenant = verified.SourceTenant,
                    keyId = verified.KeyId,
                    signed = verified.KeyId is not null,
                    lessonIds = lessons.Select(l => l.Id),
                    entry = options.Entry.EntryStage,
                },
                LoreJson.Options),
            At = now,
        };
        var reason = $"{options.Actor} imported {origin}";
        var committed = await pipeline.PublishAuthoredAsync(
            new LearningCommit
            {
                Tenant = tenant,
                Lessons = lessons,
                LessonAudit = [imported],
                Snapshot = snapshot,
                SnapshotCreatedAudit = pipeline.CreatedAudit(snapshot, reason, options.Actor),
            },
            snapshot,
            options.Actor,
            reason,
            options.Entry,
            cancellationToken).ConfigureAwait(false);
        var after = committed.Rollout ?? await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
        return new BundleImport(verified.SourceSnapshotId, verified.SourceTenant, verified.ContentAddress, verified.KeyId, snapshot.Id, [.. lessons.Select(l => l.Id)], after, LessonAuthoring.Describe(snapshot.Id, after, state));
    }

    /// <summary>The id an imported lesson gets in another tenant (ids are unique per store): stable, so importing again matches.</summary>
    internal static string ImportedId(string tenant, string sourceId)
        => "les-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{tenant}\nimported\n{sourceId}")))[..16];

    private static async Task ScreenAsync(LearningPipeline pipeline, Snapshot snapshot, CancellationToken cancellationToken)
    {
        foreach (var lesson in snapshot.Lessons)
        {
            var screened = await pipeline.ScreenAuthoredAsync(lesson, cancellationToken).ConfigureAwait(false);
            var blocking = screened.Findings.Where(f => f.Severity == Severity.Block).ToArray();
            if (blocking.Length > 0 && lesson.Authorship?.Override is null)
            {
                throw new BundleRefusedException("screen", $"Lesson {lesson.Id} of the bundle is blocked by this tenant's content screen: {string.Join("; ", blocking.Select(f => $"{f.Rule} ({f.Detail})"))}.");
            }
        }
    }

    private static Lesson Portable(Lesson lesson, LessonRedactor redactor)
    {
        var redacted = redactor.Redact(lesson);
        return redacted with
        {
            Evidence = redacted.Evidence with { EpisodeIds = [], ExemplarEpisodeIds = [], Feedback = [] },
            Authorship = redacted.Authorship is null ? null : redacted.Authorship with
            {
                Previous = [.. redacted.Authorship.Previous.Select(v => v with { Text = redactor.RedactText(v.Text) })],
            },
        };
    }

    private static object Provenance(Lesson l) => new
    {
        lesson = l.Id,
        kind = l.Kind,
        source = l.Authorship is { } a ? $"{a.Change} by {a.Author} (version {a.Version})" : $"learned by {l.Extractor.Name} {l.Extractor.Version}",
        episodes = l.Evidence.EpisodeCount,
        distinctSources = l.Evidence.DistinctSources,
        distinctTasks = l.Evidence.DistinctTasks,
        confidence = Math.Round(l.Confidence, 4),
        effect = l.Effect is { } e ? new { e.WithCount, e.WithSuccessRate, e.WithoutCount, e.WithoutSuccessRate, e.Randomized } : null,
        reviews = l.Reviews.Select(r => new { r.Reviewer, r.Approved, r.At }),
        findings = l.GuardFindings.Select(f => f.Rule).Distinct(StringComparer.Ordinal),
    };

    private static string Text(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new BundleRefusedException("format", $"The bundle's {name} is missing or not text.");
}

/// <summary>A bundle whose format, content address and signature checked out.</summary>
public sealed record VerifiedBundle(Snapshot Snapshot, string SourceSnapshotId, string SourceTenant, string ContentAddress, string? KeyId);
