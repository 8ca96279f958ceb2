using Lore.Learning;
using Lore.Hosting;
using Lore.Server.Hosting;
using Lore.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lore.Server.Api;

/// <summary>What has been learned: retrieval for a task, lessons, snapshots and their differences.</summary>
internal static class KnowledgeEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/retrieve", RetrieveAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithTags("retrieval")
            .WithSummary("Pick the lessons to inject for a task: lessons with scores, the system-message section, the snapshot and the caller's rollout arm.")
            .WithDescription("The unit decides the arm during a canary (a stable hash, so a unit stays in one arm). With episodeId, the episode's arm is used and the lessons are recorded as injected into it when it ends.")
            .Accepts<RetrieveRequest>("application/json")
            .Produces<RetrieveResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        var lessons = api.MapGroup("/lessons").WithTags("lessons");
        lessons.MapGet("/", ListLessonsAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("Lessons served by the stable snapshot, or every lesson with ?all=true; ?kind= filters by kind, ?q= searches their text.")
            .Produces<IReadOnlyList<LessonView>>()
            .ProducesValidationProblem();
        lessons.MapGet("/{id}", GetLessonAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("One lesson: text, trigger, scope, evidence, guard findings, reviews and status.")
            .Produces<LessonView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        lessons.MapGet("/{id}/lineage", LineageAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("Why a lesson exists: evidence episodes, learning runs, guards and reviews, snapshots that served it, audit entries.")
            .Produces<LessonLineage>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        var snapshots = api.MapGroup("/snapshots").WithTags("snapshots");
        snapshots.MapGet("/", ListSnapshotsAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("The tenant's snapshots, newest first, the active one marked.")
            .Produces<IReadOnlyList<SnapshotSummary>>();
        snapshots.MapGet("/{id}", GetSnapshotAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("One snapshot (an id, 'stable' or 'candidate'): settings, lessons, content-address check and the learning run that made it.")
            .Produces<SnapshotView>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        snapshots.MapGet("/{from}/diff/{to}", DiffAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("What changed between two snapshots (ids, 'stable' or 'candidate'): lessons added, removed and changed, and settings.")
            .Produces<SnapshotDiff>()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static async Task<IResult> RetrieveAsync(HttpContext context, TenantRuntimes runtimes, ApiEpisodes episodes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<RetrieveRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var request = body.Value!;
        var caller = Caller.From(context);
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        var unit = request.Unit?.Trim() ?? "";
        EpisodeAssignment assignment;
        if (request.EpisodeId is { } episodeId)
        {
            if (episodes.AssignmentOf(caller, episodeId) is { } open)
            {
                assignment = open;
            }
            else
            {
                var episode = await runtimes.Store.GetEpisodeAsync(caller.Tenant, episodeId, cancellationToken).ConfigureAwait(false);
                if (episode is null || episode.Tenant != caller.Tenant)
                {
                    return ApiProblems.NotFound("episode", episodeId);
                }

                assignment = runtime.AssignEpisode(episode.UnitKey, episode.Id);
            }
        }
        else
        {
            assignment = runtime.AssignEpisode(unit, "retrieve-" + Guid.NewGuid().ToString("n"));
        }

        var query = new RetrievalQuery
        {
            Task = request.Task!,
            Turn = request.Turn,
            Tenant = caller.Tenant,
            UnitKey = unit,
            Labels = request.Labels ?? [],
            AvailableTools = request.Tools,
        };
        var served = await assignment.RetrieveAsync(query, cancellationToken).ConfigureAwait(false);
        ShadowRetrieval? shadow = null;
        if (await assignment.RetrieveShadowAsync(query, cancellationToken).ConfigureAwait(false) is { } would)
        {
            shadow = new ShadowRetrieval(assignment.ShadowSnapshotId, [.. would.Lessons.Select(l => l.Lesson.Id)]);
        }

        if (request.EpisodeId is { } id)
        {
            episodes.NoteInjected(caller, id, served.Lessons.Select(l => l.Lesson.Id));
        }

        return LoreApiEndpoints.Json(new RetrieveResponse(
            served.SnapshotId ?? assignment.SnapshotId,
            assignment.Arm,
            assignment.Stage,
            [.. served.Lessons.Select(l => new RetrievedLessonView(l.Lesson.Id, l.Lesson.Kind, l.Lesson.Text, l.Score, l.LexicalScore, l.VectorScore, l.Tokens))],
            served.Section,
            served.Tokens,
            shadow));
    }

    private static async Task<IResult> ListLessonsAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        if (!ApiQuery.TryBool(context, "all", out var all, out var problem))
        {
            return problem!;
        }

        LessonKind? kind = null;
        if (ApiQuery.String(context, "kind") is { } kindText)
        {
            if (!Enum.TryParse<LessonKind>(kindText, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
            {
                return ApiProblems.Invalid("kind", $"is '{kindText}'; it must be one of {string.Join(", ", Enum.GetNames<LessonKind>())}.");
            }

            kind = parsed;
        }

        var search = ApiQuery.String(context, "q");
        var caller = Caller.From(context);
        var store = runtimes.Store;
        IEnumerable<Lesson> lessons;
        if (all)
        {
            lessons = await store.ListLessonsAsync(new LessonQuery { Tenant = caller.Tenant, IncludeRetired = true, Kind = kind }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var activeId = await store.GetActiveSnapshotIdAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
            var snapshot = activeId is null ? null : await store.GetSnapshotAsync(activeId, cancellationToken).ConfigureAwait(false);
            lessons = (snapshot?.Lessons ?? []).Where(l => kind is null || l.Kind == kind);
        }

        if (search is not null)
        {
            lessons = lessons.Where(l => l.Text.Contains(search, StringComparison.OrdinalIgnoreCase) || l.Id.Contains(search, StringComparison.OrdinalIgnoreCase));
        }

        return LoreApiEndpoints.Json(lessons.Select(View).ToArray());
    }

    private static async Task<IResult> GetLessonAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var caller = Caller.From(context);
        var lesson = await runtimes.Store.GetLessonAsync(id, cancellationToken).ConfigureAwait(false);
        return lesson is null || lesson.Scope.Tenant != caller.Tenant ? ApiProblems.NotFound("lesson", id) : LoreApiEndpoints.Json(View(lesson));
    }

    private static async Task<IResult> LineageAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var caller = Caller.From(context);
        try
        {
            return LoreApiEndpoints.Json(await Provenance.LessonAsync(runtimes.Store, id, caller.Tenant, cancellationToken).ConfigureAwait(false));
        }
        catch (KeyNotFoundException)
        {
            return ApiProblems.NotFound("lesson", id);
        }
    }

    private static async Task<IResult> ListSnapshotsAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
        => LoreApiEndpoints.Json(await runtimes.Store.ListSnapshotsAsync(Caller.From(context).Tenant, cancellationToken).ConfigureAwait(false));

    private static async Task<IResult> GetSnapshotAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var caller = Caller.From(context);
        var snapshot = await OwnSnapshotAsync(runtimes.Store, caller.Tenant, id, cancellationToken).ConfigureAwait(false);
        if (snapshot is null)
        {
            return ApiProblems.NotFound("snapshot", id);
        }

        var run = (await runtimes.Store.ListLearningRunsAsync(caller.Tenant, 1000, cancellationToken).ConfigureAwait(false)).FirstOrDefault(r => r.SnapshotId == snapshot.Id);
        return LoreApiEndpoints.Json(new SnapshotView(snapshot, snapshot.IsIntact, run));
    }

    private static async Task<IResult> DiffAsync(HttpContext context, string from, string to, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var caller = Caller.From(context);
        var older = await OwnSnapshotAsync(runtimes.Store, caller.Tenant, from, cancellationToken).ConfigureAwait(false);
        if (older is null)
        {
            return ApiProblems.NotFound("snapshot", from);
        }

        var newer = await OwnSnapshotAsync(runtimes.Store, caller.Tenant, to, cancellationToken).ConfigureAwait(false);
        return newer is null ? ApiProblems.NotFound("snapshot", to) : LoreApiEndpoints.Json(SnapshotDiff.Compare(older, newer));
    }

    /// <summary>A snapshot of the tenant by id, or 'stable' / 'candidate'; null when unknown or another tenant's.</summary>
    internal static async Task<Snapshot?> OwnSnapshotAsync(ILoreStore store, string tenant, string idOrAlias, CancellationToken cancellationToken)
    {
        try
        {
            return await SnapshotNames.ResolveAsync(store, idOrAlias, tenant, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is KeyNotFoundException or ArgumentException)
        {
            return null;
        }
    }

    private static LessonView View(Lesson lesson) => new(lesson, LessonStatusNames.Of(lesson));
}
