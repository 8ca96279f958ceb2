using Lore.Server.Hosting;
using Lore.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lore.Server.Api;

/// <summary>Episodes over HTTP: start or record whole, append steps, add outcomes and feedback, end, read, erase.</summary>
internal static class EpisodeEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var episodes = api.MapGroup("/episodes").WithTags("episodes");

        episodes.MapPost("/", StartAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("Start an episode, or record a whole one (steps, outcomes and ended: true) in one call.")
            .WithDescription("The episode gets its rollout arm and snapshot from the tenant's rollout (by unit); the API key is recorded as its origin. 409 when the id is taken " +
                "(for an episode recovered as abandoned after a crash, the 409 says so: it is not resumed; send its outcome and use a new id). " +
                "Acknowledgement: a 201 means the episode (with any steps, outcomes and end it carries) was written in one transaction and survives a crash; any 4xx wrote nothing.")
            .Accepts<StartEpisodeRequest>("application/json")
            .Produces<EpisodeView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

        episodes.MapGet("/", ListAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("List the tenant's episodes, newest first, without their steps (?limit=50, ?endedOnly=true).")
            .Produces<IReadOnlyList<EpisodeView>>()
            .ProducesValidationProblem();

        episodes.MapGet("/{id}", GetAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("Read one episode with its steps and outcomes.")
            .Produces<Episode>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        episodes.MapGet("/{id}/blame", BlameAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("What shaped an episode: the snapshot and arm in effect, the lessons injected (as served), its outcome.")
            .Produces<EpisodeBlame>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        episodes.MapPost("/{id}/replay", ReplayAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("What a snapshot would have injected at each model call of the episode, against what was injected (read-only).")
            .WithDescription("The body names the snapshot: an id, \"stable\" or \"candidate\" (default: stable). Retrieval is recomputed from the " +
                "recorded requests (task, latest user turn, unit, labels, offered tools), deterministically for the built-in retrieval. " +
                "404 names a missing episode or snapshot; 409 when the snapshot's content no longer hashes to its id.")
            .Accepts<ReplayEpisodeRequest>("application/json")
            .Produces<EpisodeReplay>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        episodes.MapPost("/{id}/steps", AppendStepsAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("Append steps (tool calls, model calls) to a running episode.")
            .WithDescription("Acknowledgement: a 200 means the steps were written in one transaction and survive a crash; any 4xx wrote nothing. " +
                "An episode that has ended, including one recovered as abandoned (endReason 'abandoned': open when the process capturing it stopped) or ended by an outcome (endReason 'outcome'), answers 409 naming its state.")
            .Accepts<AppendStepsRequest>("application/json")
            .Produces<EpisodeView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        episodes.MapPost("/{id}/outcomes", AddOutcomeAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("Add an outcome or feedback to an episode, at any time; an episode still open is ended by it.")
            .WithDescription("Acknowledgement: a 201 means the outcome is stored (read back from the store before answering) and its episode has ended, and both survive a crash. " +
                "An episode still open elsewhere (started on another host sharing the store, captured by an agent's own process, or left open by a crash) is ended by the outcome " +
                "in the same transaction (endReason 'outcome', at the outcome's time); steps sent for it afterwards, through any host, are refused with 409 naming the episode. " +
                "A 503 with Retry-After means it could not be stored now (the store was busy or full): it is not acknowledged, and retrying is safe. " +
                "An episode recovered as abandoned after a crash (endReason 'abandoned') accepts its outcome: the 201 then means stored on an ended episode, which learning reads judged, once.")
            .Accepts<AddOutcomeRequest>("application/json")
            .Produces<EpisodeView>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        episodes.MapPost("/{id}/end", EndAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("End a running episode, with an optional outcome and the ids of the lessons the agent injected.")
            .WithDescription("Acknowledgement: a 200 means the end (and the outcome, if given) was written in one transaction and survives a crash; any 4xx wrote nothing. " +
                "An episode recovered as abandoned after a crash answers 409 naming that state: send its outcome to .../outcomes instead.")
            .Accepts<EndEpisodeRequest>("application/json")
            .Produces<EpisodeView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        episodes.MapPost("/erase", EraseAsync)
            .RequireAuthorization(LorePolicies.Admin)
            .WithSummary("Erase a unit's episodes (or listed ones): lessons left without enough evidence are retired in a new snapshot; audited without the content.")
            .Accepts<EraseEpisodesRequest>("application/json")
            .Produces<EraseResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static IResult Answer(EpisodeCall call, int status = StatusCodes.Status200OK) => call.Status switch
    {
        EpisodeCallStatus.NotFound => ApiProblems.NotFound("episode", call.Message),
        EpisodeCallStatus.Conflict => ApiProblems.Conflict(call.Message),
        EpisodeCallStatus.Unavailable => ApiProblems.Unavailable(call.Message, TimeSpan.FromSeconds(5)),
        _ => LoreApiEndpoints.Json(EpisodeView.Of(call.Episode!), status),
    };

    private static async Task<IResult> StartAsync(HttpContext context, ApiEpisodes episodes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<StartEpisodeRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var call = await episodes.StartAsync(Caller.From(context), body.Value!, cancellationToken).ConfigureAwait(false);
        if (call.Status == EpisodeCallStatus.Done)
        {
            context.Response.Headers.Location = $"/api/episodes/{Uri.EscapeDataString(call.Episode!.Id)}";
        }

        return Answer(call, StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        if (!ApiQuery.TryInt(context, "limit", 50, 1, 1000, out var limit, out var problem) || !ApiQuery.TryBool(context, "endedOnly", out var endedOnly, out problem))
        {
            return problem!;
        }

        var caller = Caller.From(context);
        var list = new List<EpisodeView>();
        var query = new EpisodeQuery { Tenant = caller.Tenant, Limit = limit, NewestFirst = true, EndedOnly = endedOnly };
        await foreach (var episode in runtimes.Store.ReadEpisodesAsync(query, cancellationToken).ConfigureAwait(false))
        {
            list.Add(EpisodeView.Of(episode));
        }

        list.Reverse();
        return LoreApiEndpoints.Json(list);
    }

    private static async Task<IResult> GetAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var caller = Caller.From(context);
        var episode = await runtimes.Store.GetEpisodeAsync(caller.Tenant, id, cancellationToken).ConfigureAwait(false);
        return episode is null || episode.Tenant != caller.Tenant ? ApiProblems.NotFound("episode", id) : LoreApiEndpoints.Json(episode);
    }

    private static async Task<IResult> BlameAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var caller = Caller.From(context);
        try
        {
            return LoreApiEndpoints.Json(await Provenance.EpisodeAsync(runtimes.Store, id, caller.Tenant, cancellationToken).ConfigureAwait(false));
        }
        catch (KeyNotFoundException)
        {
            return ApiProblems.NotFound("episode", id);
        }
    }

    private static async Task<IResult> ReplayAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<ReplayEpisodeRequest>(context, optional: true).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var caller = Caller.From(context);
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        try
        {
            var snapshot = await SnapshotNames.ResolveAsync(runtimes.Store, body.Value?.Snapshot ?? SnapshotNames.Stable, caller.Tenant, cancellationToken).ConfigureAwait(false);
            return LoreApiEndpoints.Json(await runtime.ReplayAsync(id, snapshot.Id, cancellationToken).ConfigureAwait(false));
        }
        catch (KeyNotFoundException e)
        {
            return Results.Problem(detail: e.Message, statusCode: StatusCodes.Status404NotFound, title: "Not found");
        }
        catch (InvalidDataException e)
        {
            return ApiProblems.Conflict(e.Message);
        }
    }

    private static async Task<IResult> AppendStepsAsync(HttpContext context, string id, ApiEpisodes episodes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<AppendStepsRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        return Answer(await episodes.AppendStepsAsync(Caller.From(context), id, body.Value!.Steps!, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<IResult> AddOutcomeAsync(HttpContext context, string id, ApiEpisodes episodes, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<AddOutcomeRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var caller = Caller.From(context);
        var outcome = body.Value!.AsInput().ToOutcome(caller.Actor, runtimes.TimeProvider.GetUtcNow());
        return Answer(await episodes.AddOutcomeAsync(caller, id, outcome, cancellationToken).ConfigureAwait(false), StatusCodes.Status201Created);
    }

    private static async Task<IResult> EndAsync(HttpContext context, string id, ApiEpisodes episodes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<EndEpisodeRequest>(context, optional: true).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        return Answer(await episodes.EndAsync(Caller.From(context), id, body.Value!, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<IResult> EraseAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<EraseEpisodesRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var request = body.Value!;
        var caller = Caller.From(context);
        var options = runtimes.OptionsFor(caller.Tenant);
        var erasure = new EpisodeErasure(runtimes.Store, options.Learning.Admission, runtimes.TimeProvider);
        ErasurePlan plan;
        try
        {
            plan = request.Unit is { } unit
                ? await erasure.PlanUnitAsync(caller.Tenant, unit, cancellationToken).ConfigureAwait(false)
                : await erasure.PlanEpisodesAsync(caller.Tenant, request.EpisodeIds!, cancellationToken).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            // Which ids are missing is not said: some may exist for another tenant.
            return ApiProblems.NotFound("episode among", string.Join("', '", request.EpisodeIds ?? []));
        }

        if (plan.EpisodeIds.Count == 0)
        {
            return ApiProblems.NotFound("episode of unit", request.Unit ?? "");
        }

        if (request.DryRun)
        {
            return LoreApiEndpoints.Json(new EraseResponse(true, 0, plan.EpisodeIds, plan.UnitPseudonyms, plan.Retirements, plan.PrunedLessonIds, null, null));
        }

        var result = await erasure.ApplyAsync(plan, caller.Actor, request.Reason!.Trim(), cancellationToken).ConfigureAwait(false);
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        await runtime.RefreshAsync(cancellationToken).ConfigureAwait(false);
        return LoreApiEndpoints.Json(new EraseResponse(false, result.Deleted, plan.EpisodeIds, plan.UnitPseudonyms, plan.Retirements, plan.PrunedLessonIds, result.StableSnapshotId, result.Audit?.Sequence));
    }
}
