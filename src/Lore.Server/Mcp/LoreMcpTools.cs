using System.ComponentModel;
using System.Text.Json;
using Lore.Hosting;
using Lore.Server.Hosting;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace Lore.Server.Mcp;

/// <summary>
/// The MCP tools: lessons for a task, recording a trajectory and its outcome, and listing lessons. Every call reads and
/// writes only <see cref="McpAgent.Tenant"/>; bad arguments, unknown ids and other tenants' ids come back as tool
/// errors naming what was wrong, with nothing written.
/// </summary>
[McpServerToolType]
internal sealed class LoreMcpTools(McpAgent agent, TenantRuntimes runtimes, LoreMcpOptions options)
{
    private const int MaxTaskLength = 20_000;
    private const int MaxNameLength = 256;
    private const int MaxLabels = 64;
    private const int MaxTools = 512;
    private const int MaxLessonIds = 100;

    [McpServerTool(Name = "get_guidelines", Title = "Lessons learned for a task", ReadOnly = true, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "Call at the start of every task, and again when the task changes direction, before acting. Returns the lessons " +
        "learned from earlier runs of agents in this workspace that apply to the task now (how tools really behave, " +
        "preconditions, mistakes to avoid), as a short section to keep in your context and follow where relevant, with " +
        "their ids, the snapshot and rollout arm they come from, and an episode_id. Keep the episode_id and the lesson " +
        "ids: pass them to record_trajectory when the task is done. An empty lessons list means nothing learned applies yet.")]
    public async Task<Guidelines> GetGuidelinesAsync(
        [Description("What you are about to do, in the words of the request (for example: refund order 1142, the item arrived damaged).")] string task,
        [Description("Labels describing the work, for example {\"slice\": \"refunds\"}; lessons scoped to labels apply only when all of theirs match.")] Dictionary<string, string>? labels = null,
        [Description("Names of the tools available to you now; lessons about tools you do not have are left out. Omit when unknown.")] string[]? tools = null,
        [Description("A stable key for the user, customer or session you work for; keeps you in one rollout arm and lets lessons about that unit apply.")] string? unit = null,
        CancellationToken cancellationToken = default)
    {
        task = RequireText(task, "task", MaxTaskLength);
        CheckLabels(labels);
        CheckTools(tools);
        CheckName(unit, "unit");

        var runtime = await runtimes.GetAsync(agent.Tenant, cancellationToken).ConfigureAwait(false);
        if (options.RefreshRollout)
        {
            await runtime.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        // The same assignment and retrieval as an episode captured in process: the unit's arm, that arm's snapshot,
        // scope, top-k, minimum score and token budget, and the one section format the engine injects.
        var episodeId = NewEpisodeId();
        var assignment = runtime.AssignEpisode(unit ?? "", episodeId);
        var query = new RetrievalQuery
        {
            Task = task,
            Tenant = agent.Tenant,
            UnitKey = unit ?? "",
            Labels = labels ?? [],
            AvailableTools = tools,
        };
        var result = await assignment.RetrieveAsync(query, cancellationToken).ConfigureAwait(false);
        return new Guidelines(
            episodeId,
            assignment.SnapshotId,
            assignment.Arm,
            result.Section,
            [.. result.Lessons.Select(l => new GuidelineLesson(l.Lesson.Id, LessonSummary.KindName(l.Lesson.Kind), l.Lesson.Text, Math.Round(l.Score, 4)))]);
    }

    [McpServerTool(Name = "record_trajectory", Title = "Record a finished task", Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "Call once when a task is finished or abandoned, so Lore can learn from what happened. Send the conversation as " +
        "OpenAI chat-completions messages: system, user and assistant messages; an assistant message's tool_calls each " +
        "with id, type \"function\" and function {name, arguments (a JSON string)}; and for every tool result a message " +
        "{role: \"tool\", tool_call_id, content}. Include the outcome if you know it (otherwise report it later with " +
        "record_outcome), the episode_id and lesson ids get_guidelines gave you, and the same unit. The whole episode is " +
        "stored or, on any error, nothing is.")]
    public async Task<RecordedEpisode> RecordTrajectoryAsync(
        [Description("The task as it was given to you.")] string task,
        [Description("The conversation: an array of OpenAI chat-completions message objects, in order.")] JsonElement messages,
        [Description("How it went, if known: true or false, \"success\" or \"failure\", a score from 0 to 1, or {\"score\": 0.8, \"source\": \"environment|user|evaluator\", \"comment\": \"...\"}.")] JsonElement? outcome = null,
        [Description("The same unit key you passed to get_guidelines (user, customer or session), if any.")] string? unit = null,
        [Description("Labels describing the work, for example {\"slice\": \"refunds\"}.")] Dictionary<string, string>? labels = null,
        [Description("The episode_id get_guidelines returned for this task; omit to get a new one.")] string? episode_id = null,
        [Description("The ids of the lessons get_guidelines gave you for this task (they were in your context), so Lore can measure whether they helped.")] string[]? lesson_ids = null,
        CancellationToken cancellationToken = default)
    {
        task = RequireText(task, "task", MaxTaskLength);
        CheckName(unit, "unit");
        CheckLabels(labels);
        var id = episode_id is null ? NewEpisodeId() : CheckEpisodeId(episode_id);
        var lessonIds = CheckLessonIds(lesson_ids);

        var runtime = await runtimes.GetAsync(agent.Tenant, cancellationToken).ConfigureAwait(false);
        var store = runtime.Store;
        for (var i = 0; i < lessonIds.Count; i++)
        {
            var lesson = await store.GetLessonAsync(lessonIds[i], cancellationToken).ConfigureAwait(false);
            if (lesson is null || lesson.Scope.Tenant != agent.Tenant)
            {
                throw new McpException($"record_trajectory: lesson_ids[{i}] '{lessonIds[i]}' is not a lesson of this tenant. Nothing was stored.");
            }
        }

        if (runtime.IsRunning(id) || await store.GetEpisodeAsync(agent.Tenant, id, cancellationToken).ConfigureAwait(false) is not null)
        {
            throw AlreadyRecorded(id);
        }

        var now = runtimes.TimeProvider.GetUtcNow();
        var mapped = McpTrajectory.Map(id, agent.Tenant, messages, outcome, unit, labels, now);

        // The arm the unit was given by get_guidelines (the same assignment for the same unit or episode id).
        var assignment = runtime.AssignEpisode(unit ?? "", id);
        var unjudged = mapped with
        {
            Task = task,
            Origin = "mcp:" + agent.Actor,
            Source = agent.SourceFor(unit),
            SnapshotId = assignment.SnapshotId,
            Arm = assignment.Arm,
            InjectedLessonIds = lessonIds,
            Outcomes = [.. mapped.Outcomes.Select(o => o with { Actor = o.Actor ?? agent.Actor })],
        };

        // Judged now: with a failure classifier set, the mode it gives is stored with the outcome.
        var episode = await runtime.JudgeEpisodeAsync(unjudged, cancellationToken).ConfigureAwait(false);

        try
        {
            await using var import = await store.BeginImportAsync(cancellationToken).ConfigureAwait(false);
            await import.AddAsync(episode, cancellationToken).ConfigureAwait(false);
            await import.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Another call stored the id between the check and the write: the import rolled back.
            if (await store.GetEpisodeAsync(agent.Tenant, id, CancellationToken.None).ConfigureAwait(false) is not null)
            {
                throw AlreadyRecorded(id);
            }

            throw;
        }

        // Stored: continuous evaluation of a running canary counts it like an episode captured in process.
        await assignment.CountEndedAsync(episode, cancellationToken).ConfigureAwait(false);

        return new RecordedEpisode(episode.Id, episode.Task, episode.UnitKey, episode.Steps.Count, episode.SnapshotId, episode.Arm, lessonIds, episode.Score);
    }

    [McpServerTool(Name = "record_outcome", Title = "Judge a recorded task", Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "Call when you learn how a recorded task turned out (tests passed or failed, the user confirmed or complained, a " +
        "reviewer scored it), even long after record_trajectory. Give either success (true/false) or a score from 0 to 1, " +
        "and optionally feedback in words. An episode may collect several outcomes.")]
    public async Task<RecordedOutcome> RecordOutcomeAsync(
        [Description("The episode_id of the recorded task.")] string episode_id,
        [Description("true if the task succeeded, false if it failed. Give this or score, not both.")] bool? success = null,
        [Description("How well it went, from 0 (failed) to 1 (fully succeeded). Give this or success, not both.")] double? score = null,
        [Description("What happened, in words (for example the user's complaint or the failing test).")] string? feedback = null,
        [Description("Who judged: environment (tests, the system's own verdict; the default), user (a person's feedback) or evaluator (a grader).")] string? source = null,
        [Description("For a failure: the kind of failure in a few words (for example \"wrong_refund\" or \"handed to a human\"), so failures of the same kind are counted together.")] string? category = null,
        CancellationToken cancellationToken = default)
    {
        var id = CheckEpisodeId(episode_id);
        if (category is { Length: > 200 } || (category is not null && string.IsNullOrWhiteSpace(category)))
        {
            throw new McpException("record_outcome: category must be 1 to 200 characters naming the kind of failure. Nothing was stored.");
        }

        if (success is null == score is null)
        {
            throw new McpException("record_outcome: give exactly one of success (true/false) or score (0 to 1). Nothing was stored.");
        }

        if (score is { } s && (double.IsNaN(s) || s < 0 || s > 1))
        {
            throw new McpException($"record_outcome: score {s} is outside [0, 1]. Nothing was stored.");
        }

        if (feedback is { Length: > MaxTaskLength })
        {
            throw new McpException($"record_outcome: feedback is {feedback.Length} characters, more than {MaxTaskLength}. Nothing was stored.");
        }

        string judge;
        try
        {
            judge = OutcomeSource.Normalize(source ?? OutcomeSource.Environment);
        }
        catch (ArgumentException)
        {
            throw new McpException($"record_outcome: source '{source}' is not one of environment, user or evaluator. Nothing was stored.");
        }

        // An episode still running in this tenant's runtime (the proxy's, say) is this tenant's; otherwise the store
        // says whose it is, and another tenant's episode is reported exactly like a missing one.
        var runtime = await runtimes.GetAsync(agent.Tenant, cancellationToken).ConfigureAwait(false);
        if (!runtime.IsRunning(id))
        {
            var episode = await runtime.Store.GetEpisodeAsync(agent.Tenant, id, cancellationToken).ConfigureAwait(false);
            if (episode is null || episode.Tenant != agent.Tenant)
            {
                throw new McpException($"record_outcome: no episode '{id}' in this tenant (record it first with record_trajectory). Nothing was stored.");
            }
        }

        var value = score ?? (success == true ? 1.0 : 0.0);
        var comment = string.IsNullOrWhiteSpace(feedback) ? null : feedback.Trim();
        var judgement = new Outcome(value, judge, agent.Actor, comment, runtimes.TimeProvider.GetUtcNow()) { Category = category?.Trim(), Reason = comment };
        await runtime.RecordOutcomeAsync(id, judgement, cancellationToken).ConfigureAwait(false);

        // The answer means stored: an outcome added to an episode still being captured waits for the capture's flush.
        await runtime.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new RecordedOutcome(id, value, judge, judgement.IsSuccess);
    }

    [McpServerTool(Name = "list_lessons", Title = "List learned lessons", ReadOnly = true, OpenWorld = false, UseStructuredContent = true)]
    [Description(
        "Lists the lessons currently served to this workspace (the stable snapshot), optionally only those whose text or " +
        "triggers contain every word of a query. For browsing what has been learned; to get the lessons for a task, call " +
        "get_guidelines instead.")]
    public async Task<LessonList> ListLessonsAsync(
        [Description("Words the lesson must contain (case-insensitive), for example: refund lookup. Omit to list all.")] string? query = null,
        [Description("Only lessons of this kind: guideline, procedure, toolGuide, antiPattern or userFact.")] string? kind = null,
        [Description("At most this many lessons (1 to 200, default 50).")] int limit = 50,
        CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > 200)
        {
            throw new McpException($"list_lessons: limit {limit} is outside 1 to 200.");
        }

        LessonKind? wanted = null;
        if (kind is not null)
        {
            wanted = Enum.GetValues<LessonKind>()
                .Where(k => string.Equals(LessonSummary.KindName(k), kind.Trim(), StringComparison.OrdinalIgnoreCase))
                .Cast<LessonKind?>()
                .FirstOrDefault()
                ?? throw new McpException($"list_lessons: kind '{kind}' is not one of {string.Join(", ", Enum.GetValues<LessonKind>().Select(LessonSummary.KindName))}.");
        }

        var words = (query ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var runtime = await runtimes.GetAsync(agent.Tenant, cancellationToken).ConfigureAwait(false);
        if (options.RefreshRollout)
        {
            await runtime.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        var snapshot = runtime.CurrentSnapshot;
        var matches = (snapshot?.Lessons ?? [])
            .Where(l => l.Scope.Tenant == agent.Tenant && (wanted is null || l.Kind == wanted) && words.All(w => Mentions(l, w)))
            .ToList();
        return new LessonList(snapshot?.Id, matches.Count, [.. matches.Take(limit).Select(LessonSummary.From)]);
    }

    private static bool Mentions(Lesson lesson, string word)
        => lesson.Text.Contains(word, StringComparison.OrdinalIgnoreCase)
            || (lesson.Trigger.Description?.Contains(word, StringComparison.OrdinalIgnoreCase) ?? false)
            || lesson.Trigger.Keywords.Any(k => k.Contains(word, StringComparison.OrdinalIgnoreCase));

    private static McpException AlreadyRecorded(string id)
        => new($"record_trajectory: episode_id '{id}' is already recorded; an episode is recorded once (add judgements with record_outcome). Nothing was stored.");

    private static string NewEpisodeId() => "ep-" + Guid.CreateVersion7().ToString("n");

    private static string RequireText(string? value, string name, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new McpException($"{name} is empty; describe the task in a sentence.");
        }

        return value.Length <= maxLength ? value.Trim() : throw new McpException($"{name} is {value.Length} characters, more than {maxLength}.");
    }

    private static void CheckName(string? value, string name)
    {
        if (value is null)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(value) || value.Length > MaxNameLength || value.Any(char.IsControl))
        {
            throw new McpException($"{name} must be a non-blank key of at most {MaxNameLength} characters without control characters (omit it when there is none).");
        }
    }

    private static void CheckLabels(Dictionary<string, string>? labels)
    {
        if (labels is null)
        {
            return;
        }

        if (labels.Count > MaxLabels)
        {
            throw new McpException($"labels has {labels.Count} entries, more than {MaxLabels}.");
        }

        foreach (var (name, value) in labels)
        {
            CheckName(name, "a label name");
            if (value is null || value.Length > MaxNameLength || value.Any(char.IsControl))
            {
                throw new McpException($"labels.{name} must be a string of at most {MaxNameLength} characters without control characters.");
            }
        }
    }

    private static void CheckTools(string[]? tools)
    {
        if (tools is null)
        {
            return;
        }

        if (tools.Length > MaxTools)
        {
            throw new McpException($"tools has {tools.Length} names, more than {MaxTools}.");
        }

        for (var i = 0; i < tools.Length; i++)
        {
            CheckName(tools[i], $"tools[{i}]");
        }
    }

    private static string CheckEpisodeId(string? id)
    {
        if (EpisodeIds.Problem(id) is { } problem)
        {
            throw new McpException($"episode_id {problem} Nothing was stored.");
        }

        return id!;
    }

    private static List<string> CheckLessonIds(string[]? ids)
    {
        if (ids is null)
        {
            return [];
        }

        if (ids.Length > MaxLessonIds)
        {
            throw new McpException($"lesson_ids has {ids.Length} ids, more than {MaxLessonIds}. Nothing was stored.");
        }

        var distinct = new List<string>(ids.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(ids[i]) || ids[i].Length > MaxNameLength)
            {
                throw new McpException($"lesson_ids[{i}] is not a lesson id. Nothing was stored.");
            }

            if (!distinct.Contains(ids[i], StringComparer.Ordinal))
            {
                distinct.Add(ids[i]);
            }
        }

        return distinct;
    }
}

/// <summary>How the MCP tools behave in one host.</summary>
internal sealed class LoreMcpOptions
{
    /// <summary>
    /// Re-read the tenant's rollout from the store before serving lessons (for <c>lore mcp</c>, a long-lived process
    /// beside CLI commands that promote or roll back; <c>lore serve</c> keeps its runtimes current itself).
    /// </summary>
    public bool RefreshRollout { get; init; }
}
