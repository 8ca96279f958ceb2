using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using Lore.Learning.Guards;

namespace Lore.Learning.Authoring;

/// <summary>A lesson as a person writes it: the advice and where and when it applies.</summary>
public sealed record LessonDraft
{
    /// <summary>What sort of lesson it is; a guideline unless the author says otherwise.</summary>
    public LessonKind Kind { get; init; } = LessonKind.Guideline;

    /// <summary>The advice as it is injected: short and imperative ("Refunds over $500 need a supervisor's approval.").</summary>
    public required string Text { get; init; }

    /// <summary>When it applies (default: when the task resembles its text).</summary>
    public LessonTrigger? Trigger { get; init; }

    /// <summary>Labels an episode must carry for the lesson to apply (slice=refunds).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Tools the lesson is about; it is offered only to agents that have them.</summary>
    public IReadOnlyList<string> Tools { get; init; } = [];

    /// <summary>Always injected within its scope, first.</summary>
    public bool Pinned { get; init; }

    /// <summary>Throws naming the first field that cannot make a lesson.</summary>
    public LessonDraft Validate()
    {
        if (string.IsNullOrWhiteSpace(Text))
        {
            throw new ArgumentException("A lesson needs a text: the advice as the agent should read it.", nameof(Text));
        }

        if (Text.Length > MaxTextLength)
        {
            throw new ArgumentException($"A lesson's text is at most {MaxTextLength} characters; this one has {Text.Length}. Lessons are short advice, not documents.", nameof(Text));
        }

        if (!Enum.IsDefined(Kind))
        {
            throw new ArgumentException($"Kind {Kind} is not a lesson kind.", nameof(Kind));
        }

        if (Kind == LessonKind.UserFact)
        {
            throw new ArgumentException("A user fact is about one person and is learned from their own episodes; it cannot be written by hand (use a guideline scoped by labels).", nameof(Kind));
        }

        if (Trigger is { Kind: TriggerKind.Keywords } t && (t.Keywords.Count == 0 || t.Keywords.Any(string.IsNullOrWhiteSpace)))
        {
            throw new ArgumentException("A keyword trigger needs at least one keyword, none of them blank.", nameof(Trigger));
        }

        foreach (var (key, value) in Labels)
        {
            if (string.IsNullOrWhiteSpace(key) || string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentException($"Label '{key}={value}' must have a name and a value.", nameof(Labels));
            }
        }

        if (Tools.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("A tool name must not be blank.", nameof(Tools));
        }

        return this;
    }

    /// <summary>The longest text a lesson may have.</summary>
    public const int MaxTextLength = 2000;
}

/// <summary>A change to an existing lesson; null fields keep what the lesson had.</summary>
public sealed record LessonEdit
{
    /// <summary>New wording of the lesson.</summary>
    public string? Text { get; init; }

    /// <summary>New kind of the lesson.</summary>
    public LessonKind? Kind { get; init; }

    /// <summary>New trigger: when the lesson applies.</summary>
    public LessonTrigger? Trigger { get; init; }

    /// <summary>New labels an episode must carry for the lesson to apply (replaces the old set).</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>New tools the lesson is about (replaces the old list).</summary>
    public IReadOnlyList<string>? Tools { get; init; }
}

/// <summary>
/// Who acts and how: the person (or key), their role, why, whether an admin overrides the content screen's findings
/// (with a reason), and whether the new snapshot is served at once instead of through the tenant's rollout policy.
/// </summary>
public sealed record AuthorAction(string Author, ApiKeyRole Role, string Reason)
{
    /// <summary>An admin's reason for serving a lesson the content screen blocks; null: blocking findings refuse the change.</summary>
    public string? OverrideReason { get; init; }

    /// <summary>Serve the new snapshot to every unit at once (admins only); false: the tenant's rollout policy decides.</summary>
    public bool ServeNow { get; init; }
}

/// <summary>What a person's change did: the lesson version saved, the snapshot that carries it and where that snapshot stands.</summary>
/// <param name="Lesson">The lesson as saved.</param>
/// <param name="SnapshotId">The new snapshot (null when the change did not touch what is served, such as retiring a lesson no snapshot served).</param>
/// <param name="Rollout">The tenant's rollout after the change.</param>
/// <param name="Where">A sentence saying where the snapshot stands (served, shadow, canary, waiting, frozen).</param>
public sealed record AuthoringOutcome(Lesson Lesson, string? SnapshotId, RolloutState Rollout, string Where);

/// <summary>
/// Lets people act on single lessons: write one (a policy the agent must follow), edit one, retire one, pin or unpin
/// one. Every change is a new lesson version naming its author, with the version before it in its lineage; it passes
/// the same content screen as learned lessons (a blocking finding needs an admin's override with a reason); and it
/// reaches agents only through a new snapshot, child of the stable one, handed to the tenant's rollout policy (or
/// served at once when an admin says so). Each change is audited in the same transaction as the snapshot.
/// </summary>
public sealed class LessonAuthoring
{
    /// <summary>The extractor name authored lessons carry, so provenance says a person wrote them.</summary>
    public const string AuthoredExtractor = "authored";

    private const int MaxPreviousVersions = 20;

    private readonly TenantPipeline _on;

    /// <param name="pipeline">The pipeline whose admission policy, retrieval settings and rollout policy changes go through.</param>
    /// <param name="tenant">The tenant whose lessons are changed; lessons of other tenants are not found.</param>
    public LessonAuthoring(LearningPipeline pipeline, string tenant)
        => _on = new TenantPipeline(pipeline, tenant);

    /// <summary>The tenant whose lessons this changes.</summary>
    public string Tenant => _on.Tenant;

    /// <summary>Writes a new lesson and puts a snapshot containing it into the rollout.</summary>
    public async Task<AuthoringOutcome> AddAsync(LessonDraft draft, AuthorAction action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        Check(action);
        draft.Validate();
        var now = _on.Time.GetUtcNow();
        var lesson = new Lesson
        {
            Id = "les-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            Kind = draft.Kind,
            Text = draft.Text.Trim(),
            Trigger = draft.Trigger ?? LessonTrigger.OnDescription(draft.Text.Trim()),
            Scope = new LessonScope
            {
                Tenant = Tenant,
                Labels = draft.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
                Tools = [.. draft.Tools.Select(t => t.Trim()).Distinct(StringComparer.Ordinal)],
            },
            Extractor = new ExtractorInfo(AuthoredExtractor, "1"),
            Confidence = 1,
            CreatedAt = now,
            Pinned = draft.Pinned,
            Authorship = new LessonAuthorship { Author = action.Author, Version = 1, Change = "added", Reason = action.Reason.Trim(), At = now },
        };
        return await PublishVersionAsync(lesson, previous: null, AuditActions.LessonAuthored, action, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Makes a new version of a lesson with the changed fields; the previous version stays in its lineage.</summary>
    public async Task<AuthoringOutcome> EditAsync(string lessonId, LessonEdit change, AuthorAction action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        Check(action);
        var current = await FindAsync(lessonId, cancellationToken).ConfigureAwait(false);
        RequireNotRetired(current, "edited");
        if (change.Text is null && change.Kind is null && change.Trigger is null && change.Labels is null && change.Tools is null)
        {
            throw new ArgumentException("An edit must change something: the text, kind, trigger, labels or tools.", nameof(change));
        }

        var text = change.Text?.Trim() ?? current.Text;
        new LessonDraft
        {
            Text = text,
            Kind = change.Kind ?? current.Kind,
            Trigger = change.Trigger ?? current.Trigger,
            Labels = change.Labels ?? current.Scope.Labels,
            Tools = change.Tools ?? current.Scope.Tools,
        }.Validate();
        var now = _on.Time.GetUtcNow();
        var edited = current with
        {
            Text = text,
            Kind = change.Kind ?? current.Kind,
            Trigger = change.Trigger ?? (change.Text is not null && current.Trigger.Kind == TriggerKind.Description && current.Authorship is not null ? LessonTrigger.OnDescription(text) : current.Trigger),
            Scope = current.Scope with
            {
                Labels = change.Labels?.ToImmutableSortedDictionary(StringComparer.Ordinal) ?? current.Scope.Labels,
                Tools = change.Tools is null ? current.Scope.Tools : [.. change.Tools.Select(t => t.Trim()).Distinct(StringComparer.Ordinal)],
            },
        };
        return await PublishVersionAsync(NextVersion(current, edited, "edited", action, now), current, AuditActions.LessonEdited, action, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Pins (or unpins) a served lesson: a pinned lesson is injected whenever it is in scope, first.</summary>
    public async Task<AuthoringOutcome> PinAsync(string lessonId, bool pinned, AuthorAction action, CancellationToken cancellationToken = default)
    {
        Check(action);
        var current = await FindAsync(lessonId, cancellationToken).ConfigureAwait(false);
        RequireNotRetired(current, pinned ? "pinned" : "unpinned");
        if (current.Pinned == pinned)
        {
            throw new InvalidOperationException($"Lesson '{lessonId}' is already {(pinned ? "pinned" : "not pinned")}; nothing was changed.");
        }

        var now = _on.Time.GetUtcNow();
        var next = NextVersion(current, current with { Pinned = pinned }, pinned ? "pinned" : "unpinned", action, now);
        return await PublishVersionAsync(next, current, pinned ? AuditActions.LessonPinned : AuditActions.LessonUnpinned, action, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Retires one lesson: it is kept (with the reason) and never served again; a child of the stable snapshot without
    /// it enters the rollout, so nothing else learned since is rolled back.
    /// </summary>
    public async Task<AuthoringOutcome> RetireAsync(string lessonId, AuthorAction action, CancellationToken cancellationToken = default)
    {
        Check(action);
        var current = await FindAsync(lessonId, cancellationToken).ConfigureAwait(false);
        RequireNotRetired(current, "retired");
        var now = _on.Time.GetUtcNow();
        var retired = current with { Status = LessonStatus.Retired, RetiredAt = now, RetiredReason = $"retired by {action.Author}: {action.Reason.Trim()}" };
        var (stable, state) = await StableAsync(cancellationToken).ConfigureAwait(false);
        Snapshot? snapshot = null;
        if (stable is not null && stable.Lessons.Any(l => l.Id == lessonId))
        {
            snapshot = Snapshot.Create(stable.Id, Tenant, stable.Lessons.Where(l => l.Id != lessonId), stable.Settings, action.Author, $"{action.Author} retired {lessonId}: {action.Reason.Trim()}", now);
        }

        var running = action.ServeNow ? null : await RunningCandidateAsync(state, cancellationToken).ConfigureAwait(false);
        if (running is not null && (snapshot is not null || running.Lessons.Any(l => l.Id == lessonId)))
        {
            return await RetireFromBothArmsAsync(retired, current, stable, running, state, action, now, cancellationToken).ConfigureAwait(false);
        }

        var audit = Draft(AuditActions.LessonRetired, retired, current, action, [], snapshot, stable?.Id, now);
        return await CommitAsync(retired, [audit], snapshot, state, action, $"{action.Author} retired lesson {lessonId}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Retires a lesson while a candidate is in rollout: the candidate is replaced by a child of it without the lesson
    /// (same stage and share), and the stable snapshot, when it serves the lesson, by a child without it at once (the
    /// rollout's one candidate slot is taken, and a retired lesson must not wait in either arm). One commit, audited.
    /// </summary>
    private async Task<AuthoringOutcome> RetireFromBothArmsAsync(Lesson retired, Lesson current, Snapshot? stable, Snapshot running, RolloutState state, AuthorAction action, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var why = $"{action.Author} retired {retired.Id}: {action.Reason.Trim()}";
        var stableChild = stable is not null && stable.Lessons.Any(l => l.Id == retired.Id)
            ? Snapshot.Create(stable.Id, Tenant, stable.Lessons.Where(l => l.Id != retired.Id), stable.Settings, action.Author, why, now)
            : null;
        var candidateChild = running.Lessons.Any(l => l.Id == retired.Id)
            ? Snapshot.Create(running.Id, Tenant, running.Lessons.Where(l => l.Id != retired.Id), running.Settings, action.Author, why, now)
            : null;
        var next = state with
        {
            StableSnapshotId = stableChild?.Id ?? state.StableSnapshotId,
            CandidateSnapshotId = candidateChild?.Id ?? state.CandidateSnapshotId,
            UpdatedAt = now,
            UpdatedBy = action.Author,
        };
        var main = candidateChild ?? stableChild!;
        var lessonAudit = new List<AuditDraft> { Draft(AuditActions.LessonRetired, retired, current, action, [], main, main.ParentId, now) };
        if (candidateChild is not null && stableChild is not null)
        {
            // The commit carries one new snapshot; the other is stored first (immutable, unserved until the commit).
            await _on.Store.SaveSnapshotAsync(stableChild, cancellationToken).ConfigureAwait(false);
            lessonAudit.Add(_on.Pipeline.CreatedAudit(stableChild, why, action.Author));
        }

        var rolloutAudit = new List<AuditDraft>();
        if (stableChild is not null)
        {
            rolloutAudit.Add(RolloutAudit(AuditActions.SnapshotPromoted, stableChild, state.StableSnapshotId, next, retired.Id, action, why, now));
        }

        if (candidateChild is not null)
        {
            rolloutAudit.Add(RolloutAudit(state.Stage == RolloutStage.Shadow ? AuditActions.SnapshotShadow : AuditActions.SnapshotCanary, candidateChild, state.CandidateSnapshotId, next, retired.Id, action, why, now));
        }

        var saved = await CommitReplacingAsync(retired, lessonAudit, main, rolloutAudit, next, state, action, why, cancellationToken).ConfigureAwait(false);
        var arms = string.Join(" and ", new[]
        {
            stableChild is null ? null : $"the stable arm now serves {stableChild.Id}",
            candidateChild is null ? null : $"the candidate {candidateChild.Id} replaces {state.CandidateSnapshotId} ({Describe(candidateChild.Id, saved)})",
        }.Where(s => s is not null));
        return new AuthoringOutcome(retired, main.Id, saved, $"taken out of every arm: {arms}");
    }

    /// <summary>
    /// Puts a new version of a lesson into the running candidate: a child of the candidate with the new version
    /// replaces it at the same stage and share, so the arm being evaluated never serves the version the person changed.
    /// The stable arm keeps its version until the candidate is promoted (that is the rollout).
    /// </summary>
    private async Task<AuthoringOutcome> ReplaceInCandidateAsync(Lesson lesson, List<AuditDraft> audit, string auditAction, Lesson previous, IReadOnlyList<Finding> findings, Snapshot running, RolloutState state, AuthorAction action, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var change = lesson.Authorship!.Change;
        var why = $"{action.Author} {change} lesson {lesson.Id}: {action.Reason.Trim()}";
        var child = Snapshot.Create(running.Id, Tenant, running.Lessons.Where(l => l.Id != lesson.Id).Append(lesson), running.Settings, action.Author, why, now);
        audit.Insert(0, Draft(auditAction, lesson, previous, action, findings, child, running.Id, now));
        var next = state with { CandidateSnapshotId = child.Id, UpdatedAt = now, UpdatedBy = action.Author };
        var rolloutAudit = new[] { RolloutAudit(state.Stage == RolloutStage.Shadow ? AuditActions.SnapshotShadow : AuditActions.SnapshotCanary, child, running.Id, next, lesson.Id, action, why, now) };
        var saved = await CommitReplacingAsync(lesson, audit, child, rolloutAudit, next, state, action, why, cancellationToken).ConfigureAwait(false);
        var stableKeeps = saved.StableSnapshotId is null ? "" : $"; the stable arm keeps the earlier version until {child.Id} is promoted";
        return new AuthoringOutcome(lesson, child.Id, saved, $"{Describe(child.Id, saved)}, replacing candidate {running.Id}{stableKeeps}");
    }

    private async Task<RolloutState> CommitReplacingAsync(Lesson lesson, IReadOnlyList<AuditDraft> lessonAudit, Snapshot snapshot, IReadOnlyList<AuditDraft> rolloutAudit, RolloutState next, RolloutState before, AuthorAction action, string why, CancellationToken cancellationToken)
    {
        // Decided on the rollout as read: if it moved since (a promotion, a rollback), the store refuses the commit
        // whole and the person is asked to look again rather than have the change applied to a rollout they did not see.
        try
        {
            var committed = await _on.Store.CommitLearningAsync(
                Commit(lesson, lessonAudit, snapshot, why, action) with { Rollout = new RolloutChange(next, before.Version, rolloutAudit) },
                cancellationToken).ConfigureAwait(false);
            return committed.Rollout ?? await _on.Store.GetRolloutAsync(Tenant, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreConflictException e)
        {
            throw new StoreConflictException($"The rollout of tenant '{Tenant}' changed while lesson {lesson.Id} was being changed (a promotion or rollback); nothing was changed. Look at the rollout and try again.", e);
        }
    }

    private AuditDraft RolloutAudit(string auditAction, Snapshot snapshot, string? replaced, RolloutState next, string lessonId, AuthorAction action, string why, DateTimeOffset now)
        => new()
        {
            Tenant = Tenant,
            Actor = action.Author,
            Action = auditAction,
            Subject = snapshot.Id,
            Reason = why,
            DetailsJson = JsonSerializer.Serialize(
                new
                {
                    snapshot = snapshot.Id,
                    parent = snapshot.ParentId,
                    replaced,
                    stage = auditAction == AuditActions.SnapshotPromoted ? RolloutStage.None : next.Stage,
                    canaryShare = auditAction == AuditActions.SnapshotPromoted ? 0 : next.CanaryShare,
                    lesson = lessonId,
                    rolloutVersion = next.Version + 1,
                },
                LoreJson.Options),
            At = now,
        };

    /// <summary>The candidate in shadow or canary, or null when none runs (or the tenant is frozen: nothing moves then).</summary>
    private async Task<Snapshot?> RunningCandidateAsync(RolloutState state, CancellationToken cancellationToken)
    {
        if (state.Frozen || state.CandidateSnapshotId is not { } id || state.Stage is not (RolloutStage.Shadow or RolloutStage.Canary))
        {
            return null;
        }

        return await _on.Store.GetSnapshotAsync(id, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The candidate snapshot '{id}' of tenant '{Tenant}' is missing from the store.");
    }

    private async Task<AuthoringOutcome> PublishVersionAsync(Lesson lesson, Lesson? previous, string auditAction, AuthorAction action, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The same content screen learned lessons pass; the screened (possibly redacted) lesson is what is served.
        var screened = await _on.Pipeline.ScreenAuthoredAsync(lesson, cancellationToken).ConfigureAwait(false);
        var findings = screened.Findings;
        var blocking = findings.Where(f => f.Severity == Severity.Block).ToArray();
        var candidate = screened.Lesson;
        var audit = new List<AuditDraft>();
        if (blocking.Length > 0)
        {
            var named = string.Join("; ", blocking.Select(f => $"{f.Rule} ({f.Detail})"));
            if (action.OverrideReason is null)
            {
                throw new InvalidOperationException($"The content screen blocks this lesson: {named}. Reword it, or an admin may override with a reason; nothing was changed.");
            }

            if (action.Role < ApiKeyRole.Admin)
            {
                throw new UnauthorizedAccessException($"Only an admin may override the content screen (it found: {named}); nothing was changed.");
            }

            var rules = blocking.Select(f => f.Rule).Distinct(StringComparer.Ordinal).ToArray();
            candidate = candidate with
            {
                Authorship = candidate.Authorship! with { Override = new ScreenOverride(action.Author, action.OverrideReason.Trim(), rules, now) },
            };
            audit.Add(new AuditDraft
            {
                Tenant = Tenant,
                Actor = action.Author,
                Action = AuditActions.ScreenOverridden,
                Subject = candidate.Id,
                Reason = action.OverrideReason.Trim(),
                DetailsJson = JsonSerializer.Serialize(new { lesson = candidate.Id, rules, findings = blocking.Select(f => f.ToGuardFinding()) }, LoreJson.Options),
                At = now,
            });
        }

        var change = candidate.Authorship!.Change;
        candidate = candidate with
        {
            Status = LessonStatus.Active,
            RetiredAt = null,
            RetiredReason = null,
            GuardFindings = [.. findings.Select(f => f.ToGuardFinding())],
            Reviews = [.. candidate.Reviews, new ReviewDecision(action.Author, Approved: true, $"{change} by hand: {action.Reason.Trim()}", now)],
        };

        var (stable, state) = await StableAsync(cancellationToken).ConfigureAwait(false);
        var running = previous is null || action.ServeNow ? null : await RunningCandidateAsync(state, cancellationToken).ConfigureAwait(false);
        if (running is not null && running.Lessons.Any(l => l.Id == candidate.Id))
        {
            return await ReplaceInCandidateAsync(candidate, audit, auditAction, previous!, findings, running, state, action, now, cancellationToken).ConfigureAwait(false);
        }

        var lessons = (stable?.Lessons ?? []).Where(l => l.Id != candidate.Id).Append(candidate);
        var snapshot = Snapshot.Create(
            stable?.Id,
            Tenant,
            lessons,
            stable?.Settings ?? _on.Pipeline.Retrieval,
            action.Author,
            $"{action.Author} {change} lesson {candidate.Id}: {action.Reason.Trim()}",
            now);
        audit.Insert(0, Draft(auditAction, candidate, previous, action, findings, snapshot, stable?.Id, now));
        return await CommitAsync(candidate, audit, snapshot, state, action, $"{action.Author} {change} lesson {candidate.Id}", cancellationToken).ConfigureAwait(false);
    }

    private async Task<AuthoringOutcome> CommitAsync(Lesson lesson, IReadOnlyList<AuditDraft> audit, Snapshot? snapshot, RolloutState before, AuthorAction action, string reason, CancellationToken cancellationToken)
    {
        var policy = action.ServeNow ? new RolloutPolicy { EntryStage = RolloutStage.None, ReplaceRunningCanary = true } : _on.Pipeline.Rollout ?? new RolloutPolicy();
        var committed = await _on.Pipeline.PublishAuthoredAsync(
            Commit(lesson, audit, snapshot, reason, action),
            snapshot,
            action.Author,
            action.ServeNow ? $"{reason}; served at once as {action.Author} asked" : reason,
            policy,
            cancellationToken).ConfigureAwait(false);
        var state = committed.Rollout ?? await _on.Store.GetRolloutAsync(Tenant, cancellationToken).ConfigureAwait(false);
        return new AuthoringOutcome(lesson, snapshot?.Id, state, Describe(snapshot?.Id, state, before));
    }

    /// <summary>One lesson version, its audit and the snapshot carrying it (if any), as one commit.</summary>
    private LearningCommit Commit(Lesson lesson, IReadOnlyList<AuditDraft> audit, Snapshot? snapshot, string reason, AuthorAction action)
        => new()
        {
            Tenant = Tenant,
            Lessons = [lesson],
            LessonAudit = audit,
            Snapshot = snapshot,
            SnapshotCreatedAudit = snapshot is null ? null : _on.Pipeline.CreatedAudit(snapshot, reason, action.Author),
        };

    /// <summary>Where a snapshot stands in the rollout, in one sentence.</summary>
    public static string Describe(string? snapshotId, RolloutState state, RolloutState? before = null)
        => snapshotId is null ? "no served snapshot changed"
            : state.StableSnapshotId == snapshotId ? "served to every unit"
            : state.CandidateSnapshotId == snapshotId ? state.Stage == RolloutStage.Canary
                ? $"in canary for {state.CanaryShare.ToString("P0", System.Globalization.CultureInfo.InvariantCulture)} of units"
                : "in shadow (retrieved and logged, not injected)"
            : state.Frozen ? $"stored, not in rollout: the tenant is frozen ({state.FrozenReason})"
            : before?.Stage == RolloutStage.Canary ? $"stored, waiting: candidate {state.CandidateSnapshotId} is in canary"
            : "stored, not in rollout";

    private static Lesson NextVersion(Lesson current, Lesson changed, string change, AuthorAction action, DateTimeOffset now)
    {
        var source = current.Authorship?.Author ?? $"extractor:{current.Extractor.Name} {current.Extractor.Version}";
        var version = current.Authorship?.Version ?? 1;
        var at = current.Authorship?.At ?? current.CreatedAt;
        var previous = (current.Authorship?.Previous ?? []).Append(new LessonVersion(version, source, current.Text, current.Pinned, at)).TakeLast(MaxPreviousVersions).ToArray();
        return changed with
        {
            Authorship = new LessonAuthorship
            {
                Author = action.Author,
                Version = version + 1,
                Change = change,
                Reason = action.Reason.Trim(),
                At = now,
                Previous = previous,
                ImportedFrom = current.Authorship?.ImportedFrom,
            },
        };
    }

    private async Task<(Snapshot? Stable, RolloutState State)> StableAsync(CancellationToken cancellationToken)
    {
        var state = await _on.Store.GetRolloutAsync(Tenant, cancellationToken).ConfigureAwait(false);
        var stableId = state.StableSnapshotId ?? await _on.Store.GetActiveSnapshotIdAsync(Tenant, cancellationToken).ConfigureAwait(false);
        var stable = stableId is null ? null : await _on.Store.GetSnapshotAsync(stableId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The stable snapshot '{stableId}' of tenant '{Tenant}' is missing from the store.");
        return (stable, state);
    }

    private async Task<Lesson> FindAsync(string lessonId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lessonId);
        var lesson = await _on.Store.GetLessonAsync(lessonId, cancellationToken).ConfigureAwait(false);
        if (lesson is null || lesson.Scope.Tenant != Tenant)
        {
            // A served lesson written into a snapshot by other means is still the tenant's to change.
            var (stable, _) = await StableAsync(cancellationToken).ConfigureAwait(false);
            lesson = stable?.Lessons.FirstOrDefault(l => l.Id == lessonId);
        }

        return lesson ?? throw new KeyNotFoundException($"No lesson '{lessonId}' for tenant '{Tenant}'.");
    }

    private static void RequireNotRetired(Lesson lesson, string verb)
    {
        if (lesson.IsRetired || lesson.Status == LessonStatus.Retired)
        {
            throw new InvalidOperationException($"Lesson '{lesson.Id}' is retired ({lesson.RetiredReason ?? "no reason recorded"}) and cannot be {verb}; write a new lesson instead.");
        }
    }

    private static void Check(AuthorAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (string.IsNullOrWhiteSpace(action.Author))
        {
            throw new ArgumentException("A change to a lesson needs the author's name.", nameof(action));
        }

        if (string.IsNullOrWhiteSpace(action.Reason))
        {
            throw new ArgumentException("A change to a lesson needs a reason; it is kept on the lesson and in the audit log.", nameof(action));
        }

        if (action.Role < ApiKeyRole.Reviewer)
        {
            throw new UnauthorizedAccessException($"Only a reviewer or an admin may change lessons; {action.Author} is an {action.Role.ToString().ToLowerInvariant()}.");
        }

        if (action.ServeNow && action.Role < ApiKeyRole.Admin)
        {
            throw new UnauthorizedAccessException("Only an admin may serve a change at once, past the rollout policy; a reviewer's change enters the rollout.");
        }

        if (action.OverrideReason is { } why && string.IsNullOrWhiteSpace(why))
        {
            throw new ArgumentException("An override of the content screen needs a reason.", nameof(action));
        }
    }

    private AuditDraft Draft(string auditAction, Lesson lesson, Lesson? previous, AuthorAction action, IReadOnlyList<Finding> findings, Snapshot? snapshot, string? parentId, DateTimeOffset now)
    {
        var details = new
        {
            lesson = lesson.Id,
            version = lesson.Authorship?.Version,
            previousVersion = previous?.Authorship?.Version ?? (previous is null ? null : 1),
            previousText = previous?.Text,
            text = lesson.Text,
            pinned = lesson.Pinned,
            role = action.Role,
            findings = findings.Select(f => f.ToGuardFinding()),
            overridden = lesson.Authorship?.Override,
            snapshot = snapshot?.Id,
            parent = parentId,
            servedAtOnce = action.ServeNow,
        };
        return new AuditDraft
        {
            Tenant = Tenant,
            Actor = action.Author,
            Action = auditAction,
            Subject = lesson.Id,
            Reason = action.Reason.Trim(),
            DetailsJson = JsonSerializer.Serialize(details, LoreJson.Options),
            At = now,
        };
    }
}
