using System.ComponentModel;
using System.Text.Json.Serialization;
using Lore.Learning;
using Lore.Learning.Authoring;
using Lore.Server.Api;
using Lore.Server.Hosting;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace Lore.Server.Mcp;

/// <summary>
/// The MCP tools for people (or their assistants) holding a reviewer or admin key: the review queue with its filters,
/// a lesson's evidence side by side, approve and reject (one lesson or many with one reason), and writing, editing,
/// retiring and pinning lessons. They run the same engine calls with the same role checks as the REST API; an agent
/// key, and the stdio server (which acts as an agent), is refused and does not see them in the tool list.
/// </summary>
[McpServerToolType]
internal sealed class LoreMcpReviewTools(McpAgent agent, TenantRuntimes runtimes)
{
    /// <summary>The names of these tools, hidden from callers who may not use them.</summary>
    public static readonly IReadOnlySet<string> Names = new HashSet<string>(StringComparer.Ordinal)
    {
        "review_queue", "review_evidence", "approve_lessons", "reject_lessons", "add_lesson", "edit_lesson", "retire_lesson", "pin_lesson",
    };

    private const int MaxReason = 2_000;
    private const int MaxIds = 500;

    [McpServerTool(Name = "review_queue", Title = "Lessons waiting for review", ReadOnly = true, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "For reviewers and admins. Lists the lessons the admission guards found borderline and that wait for a person's " +
        "decision, oldest first, with the guard findings that queued them and how much evidence they have. Narrow the list " +
        "by kind (guideline, procedure, toolGuide, antiPattern), a tool the lesson names, a slice label, or a finding's rule.")]
    public async Task<ReviewQueueList> ReviewQueueAsync(
        [Description("Only lessons of this kind: guideline, procedure, toolGuide or antiPattern.")] string? kind = null,
        [Description("Only lessons that name this tool.")] string? tool = null,
        [Description("Only lessons of this slice (their scope's or evidence's slice label).")] string? slice = null,
        [Description("Only lessons on which this guard rule fired (for example changes-state).")] string? finding = null,
        CancellationToken cancellationToken = default)
    {
        var filter = Run(() => ReviewFilter.Parse(kind, tool, slice, finding));
        var lessons = await Queue().ListAsync(filter, cancellationToken).ConfigureAwait(false);
        return new ReviewQueueList(lessons.Count, [.. lessons.Select(QueuedLesson.From)]);
    }

    [McpServerTool(Name = "review_evidence", Title = "A lesson's evidence side by side", ReadOnly = true, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "For reviewers and admins. Shows the evidence behind one lesson in two columns: episodes it was learned from (the " +
        "pattern it reacts to) and episodes in which the behaviour it recommends was done and worked, each with its task, " +
        "outcome and steps. Read it before approving or rejecting.")]
    public async Task<ReviewEvidence> ReviewEvidenceAsync(
        [Description("The lesson's id.")] string lesson_id,
        [Description("How many episodes per column (1 to 50, default 5).")] int per_side = 5,
        CancellationToken cancellationToken = default)
    {
        if (per_side is < 1 or > 50)
        {
            throw new McpException($"review_evidence: per_side is {per_side}; it must be from 1 to 50.");
        }

        return await RunAsync(() => Queue().EvidenceAsync(Id(lesson_id, "lesson_id"), per_side, cancellationToken)).ConfigureAwait(false);
    }

    [McpServerTool(Name = "approve_lessons", Title = "Approve waiting lessons", Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "For reviewers and admins. Approves one or more lessons waiting for review with one reason: they are admitted in " +
        "one new snapshot that enters the tenant's rollout (shadow or canary as its policy says). All of them or, when one " +
        "cannot be approved, none; the error names it. The decision is audited with your key and reason.")]
    public async Task<ReviewDecisions> ApproveLessonsAsync(
        [Description("The ids of the waiting lessons to approve, each once.")] string[] lesson_ids,
        [Description("Why (kept on each lesson and in the audit log).")] string reason,
        CancellationToken cancellationToken = default)
    {
        var ids = Ids(lesson_ids);
        reason = Reason(reason);
        var outcomes = await RunAsync(() => Queue().ApproveManyAsync(ids, agent.Actor, reason, cancellationToken)).ConfigureAwait(false);
        return new ReviewDecisions("approved", outcomes.Select(o => o.Lesson.Id).ToArray(), outcomes.FirstOrDefault()?.SnapshotId, await RolloutAfterAsync(cancellationToken).ConfigureAwait(false));
    }

    [McpServerTool(Name = "reject_lessons", Title = "Reject waiting lessons", Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "For reviewers and admins. Rejects one or more lessons waiting for review with one reason: they are kept with the " +
        "decision and never served. All of them or, when one is not waiting, none. Audited with your key and reason.")]
    public async Task<ReviewDecisions> RejectLessonsAsync(
        [Description("The ids of the waiting lessons to reject, each once.")] string[] lesson_ids,
        [Description("Why (kept on each lesson and in the audit log).")] string reason,
        CancellationToken cancellationToken = default)
    {
        var ids = Ids(lesson_ids);
        reason = Reason(reason);
        var outcomes = await RunAsync(() => Queue().RejectManyAsync(ids, agent.Actor, reason, cancellationToken)).ConfigureAwait(false);
        return new ReviewDecisions("rejected", outcomes.Select(o => o.Lesson.Id).ToArray(), null, await RolloutAfterAsync(cancellationToken).ConfigureAwait(false));
    }

    [McpServerTool(Name = "add_lesson", Title = "Write a lesson", Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "For reviewers and admins. Writes a lesson by hand (a policy the agent must follow, such as \"Refunds over $500 need " +
        "a supervisor's approval\"). It passes the content screen, is versioned with you as author and reaches agents only " +
        "through a new snapshot in the tenant's rollout, or at once when an admin sets serve_now. An admin may override a " +
        "blocking finding of the screen with override_reason.")]
    public Task<AuthoredChange> AddLessonAsync(
        [Description("The advice as the agent should read it: short and imperative.")] string text,
        [Description("Why it is written (kept on the lesson and in the audit log).")] string reason,
        [Description("guideline (default), procedure, toolGuide or antiPattern.")] string? kind = null,
        [Description("Labels an episode must carry for the lesson to apply, for example {\"slice\": \"refunds\"}.")] Dictionary<string, string>? labels = null,
        [Description("Tools the lesson is about; it is offered only to agents that have them.")] string[]? tools = null,
        [Description("Pinned: injected whenever in scope, first.")] bool pinned = false,
        [Description("Admins only: serve the new snapshot to every unit at once instead of through the rollout policy.")] bool serve_now = false,
        [Description("Admins only: serve the lesson although the content screen blocks it, for this reason.")] string? override_reason = null,
        CancellationToken cancellationToken = default)
    {
        var draft = new LessonDraft { Text = text ?? "", Kind = Kind(kind) ?? LessonKind.Guideline, Labels = labels ?? [], Tools = tools ?? [], Pinned = pinned };
        return ChangeAsync(a => a.AddAsync(draft, Action(reason, serve_now, override_reason), cancellationToken));
    }

    [McpServerTool(Name = "edit_lesson", Title = "Edit a lesson", Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "For reviewers and admins. Makes a new version of a lesson with the fields given (the others are kept); the previous " +
        "version stays in its lineage. The new version is screened and reaches agents through a new snapshot in the rollout " +
        "(a running canary that serves the lesson gets the new version at once), or at once when an admin sets serve_now.")]
    public Task<AuthoredChange> EditLessonAsync(
        [Description("The lesson's id.")] string lesson_id,
        [Description("Why it is changed (kept on the lesson and in the audit log).")] string reason,
        [Description("The new text, if it changes.")] string? text = null,
        [Description("The new kind, if it changes: guideline, procedure, toolGuide or antiPattern.")] string? kind = null,
        [Description("The new labels, if they change.")] Dictionary<string, string>? labels = null,
        [Description("The new tools, if they change.")] string[]? tools = null,
        [Description("Admins only: serve the new snapshot to every unit at once.")] bool serve_now = false,
        [Description("Admins only: serve the lesson although the content screen blocks it, for this reason.")] string? override_reason = null,
        CancellationToken cancellationToken = default)
    {
        var id = Id(lesson_id, "lesson_id");
        var edit = new LessonEdit { Text = text, Kind = Kind(kind), Labels = labels, Tools = tools };
        return ChangeAsync(a => a.EditAsync(id, edit, Action(reason, serve_now, override_reason), cancellationToken));
    }

    [McpServerTool(Name = "retire_lesson", Title = "Retire a lesson", Destructive = true, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "For reviewers and admins. Takes one lesson out of service without rolling back anything else: it is kept with the " +
        "reason and never served again. A child snapshot without it enters the rollout; while a candidate is in shadow or " +
        "canary, both arms stop serving it at once.")]
    public Task<AuthoredChange> RetireLessonAsync(
        [Description("The lesson's id.")] string lesson_id,
        [Description("Why it is retired (kept on the lesson and in the audit log).")] string reason,
        [Description("Admins only: serve the snapshot without it to every unit at once.")] bool serve_now = false,
        CancellationToken cancellationToken = default)
    {
        var id = Id(lesson_id, "lesson_id");
        return ChangeAsync(a => a.RetireAsync(id, Action(reason, serve_now, null), cancellationToken));
    }

    [McpServerTool(Name = "pin_lesson", Title = "Pin or unpin a lesson", Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "For reviewers and admins. Pins a lesson (always injected within its scope, first, subject to the token budget) or " +
        "unpins it with pinned=false. Like any change it is a new version that reaches agents through the rollout.")]
    public Task<AuthoredChange> PinLessonAsync(
        [Description("The lesson's id.")] string lesson_id,
        [Description("Why (kept on the lesson and in the audit log).")] string reason,
        [Description("true to pin (default), false to unpin.")] bool pinned = true,
        [Description("Admins only: serve the new snapshot to every unit at once.")] bool serve_now = false,
        CancellationToken cancellationToken = default)
    {
        var id = Id(lesson_id, "lesson_id");
        return ChangeAsync(a => a.PinAsync(id, pinned, Action(reason, serve_now, null), cancellationToken));
    }

    private ApiKeyRole Role
        => agent.Key?.Role is { } role && role >= ApiKeyRole.Reviewer
            ? role
            : throw new McpException(agent.Key is null
                ? "This tool needs a reviewer or admin key: the stdio server acts as an agent. Use lore serve's /mcp with a reviewer key, or the lore command."
                : $"This tool needs a reviewer or admin key; this request's key is an {agent.Key.Role.ToString().ToLowerInvariant()} key. Nothing was changed.");

    private ReviewQueue Queue()
    {
        _ = Role;
        return new ReviewQueue(AuthoringEndpoints.Pipeline(runtimes, agent.Tenant), agent.Tenant);
    }

    private AuthorAction Action(string reason, bool serveNow, string? overrideReason)
    {
        var role = Role;
        if (overrideReason is not null && string.IsNullOrWhiteSpace(overrideReason))
        {
            throw new McpException("override_reason must not be blank: an override of the content screen needs a reason.");
        }

        return new AuthorAction(agent.Actor, role, Reason(reason)) { ServeNow = serveNow, OverrideReason = overrideReason?.Trim() };
    }

    private async Task<AuthoredChange> ChangeAsync(Func<LessonAuthoring, Task<AuthoringOutcome>> change)
    {
        _ = Role;
        var outcome = await RunAsync(() => change(new LessonAuthoring(AuthoringEndpoints.Pipeline(runtimes, agent.Tenant), agent.Tenant))).ConfigureAwait(false);
        var state = await RolloutAfterAsync(CancellationToken.None).ConfigureAwait(false);
        var lesson = outcome.Lesson;
        return new AuthoredChange(
            lesson.Id,
            lesson.Authorship?.Version ?? 1,
            lesson.Status.ToString(),
            lesson.Pinned,
            lesson.Text,
            [.. lesson.GuardFindings.Select(f => $"{f.Rule}: {f.Detail}")],
            outcome.SnapshotId,
            outcome.Where,
            state.Stage.ToString().ToLowerInvariant());
    }

    private async Task<RolloutState> RolloutAfterAsync(CancellationToken cancellationToken)
    {
        // A change's snapshot may have entered service: this server serves it from the next request.
        var runtime = await runtimes.GetAsync(agent.Tenant, cancellationToken).ConfigureAwait(false);
        return await runtime.Rollout.RefreshAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> RunAsync<T>(Func<Task<T>> act)
    {
        try
        {
            return await act().ConfigureAwait(false);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or UnauthorizedAccessException or ArgumentException)
        {
            throw new McpException(e.Message + (e.Message.Contains("nothing was", StringComparison.OrdinalIgnoreCase) ? "" : " Nothing was changed."), e);
        }
    }

    private static T Run<T>(Func<T> act)
    {
        try
        {
            return act();
        }
        catch (ArgumentException e)
        {
            throw new McpException(e.Message, e);
        }
    }

    private static LessonKind? Kind(string? kind) => Run(() => ReviewFilter.Parse(kind, null, null, null).Kind);

    private static string Id(string? id, string name)
        => string.IsNullOrWhiteSpace(id) || id.Length > 256 ? throw new McpException($"{name} must be a lesson id (1 to 256 characters).") : id.Trim();

    private static string[] Ids(string[]? ids)
    {
        if (ids is null || ids.Length == 0 || ids.Length > MaxIds)
        {
            throw new McpException($"lesson_ids must name 1 to {MaxIds} lessons.");
        }

        var trimmed = ids.Select((id, i) => Id(id, $"lesson_ids[{i}]")).ToArray();
        return trimmed.Distinct(StringComparer.Ordinal).Count() == trimmed.Length ? trimmed : throw new McpException("lesson_ids names a lesson twice; name each once.");
    }

    private static string Reason(string? reason)
        => string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReason
            ? throw new McpException($"reason is required (1 to {MaxReason} characters): it goes into the audit log.")
            : reason.Trim();
}

/// <summary>The review queue as review_queue returns it.</summary>
internal sealed record ReviewQueueList(
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("lessons")] IReadOnlyList<QueuedLesson> Lessons);

/// <summary>One waiting lesson: what it says, why it waits and how much evidence it has.</summary>
internal sealed record QueuedLesson(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("findings")] IReadOnlyList<string> Findings,
    [property: JsonPropertyName("tools")] IReadOnlyList<string> Tools,
    [property: JsonPropertyName("labels")] IReadOnlyDictionary<string, string> Labels,
    [property: JsonPropertyName("episodes")] int Episodes,
    [property: JsonPropertyName("sources")] int Sources)
{
    public static QueuedLesson From(Lesson l) => new(
        l.Id,
        LessonSummary.KindName(l.Kind),
        l.Text,
        [.. l.GuardFindings.Select(f => $"{f.Rule}: {f.Detail}")],
        l.Scope.Tools,
        l.Scope.Labels,
        l.Evidence.EpisodeCount,
        l.Evidence.DistinctSources);
}

/// <summary>What approve_lessons or reject_lessons did.</summary>
internal sealed record ReviewDecisions(
    [property: JsonPropertyName("decision")] string Decision,
    [property: JsonPropertyName("lesson_ids")] IReadOnlyList<string> LessonIds,
    [property: JsonPropertyName("snapshot_id"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? SnapshotId,
    [property: JsonPropertyName("rollout")] RolloutState Rollout);

/// <summary>What add_lesson, edit_lesson, retire_lesson or pin_lesson did.</summary>
internal sealed record AuthoredChange(
    [property: JsonPropertyName("lesson_id")] string LessonId,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("pinned")] bool Pinned,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("findings")] IReadOnlyList<string> Findings,
    [property: JsonPropertyName("snapshot_id"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? SnapshotId,
    [property: JsonPropertyName("where")] string Where,
    [property: JsonPropertyName("stage")] string Stage);
