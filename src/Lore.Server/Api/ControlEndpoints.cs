using Lore.Learning;
using Lore.Server.Hosting;
using Lore.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lore.Server.Api;

/// <summary>
/// The control plane over HTTP: rollout (shadow, canary, promote, rollback, freeze), learning, the review queue, the
/// audit log and API keys. Every change acts through the tenant's serving runtime (so it is served at once) and is
/// audited with the key as actor.
/// </summary>
internal static class ControlEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var rollout = api.MapGroup("/rollout").WithTags("rollout");
        rollout.MapGet("/", StatusAsync)
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("The rollout (stable snapshot, candidate, stage, share, freeze) and the canary's evaluation so far, per slice.")
            .Produces<RolloutStatus>();
        MapChange<ShadowRequest>(rollout, "/shadow", "Run a snapshot in shadow: retrieve and record what it would inject, inject nothing.", (c, r, caller, ct) =>
            c.ShadowAsync(r.SnapshotId!, caller.Actor, r.Reason ?? "shadow started through the API", ct), r => r.SnapshotId);
        MapChange<CanaryRequest>(rollout, "/canary", "Start a canary or change its share: a stable share of units gets the candidate.", (c, r, caller, ct) =>
            c.CanaryAsync(r.Share!.Value, caller.Actor, r.Reason ?? "canary started through the API", r.SnapshotId, ct), r => r.SnapshotId);
        MapChange<OptionalReasonRequest>(rollout, "/promote", "Make the candidate the stable snapshot for every unit, at once.", (c, r, caller, ct) =>
            c.PromoteAsync(caller.Actor, r.Reason ?? "promoted through the API", ct), _ => null, optionalBody: true);
        MapChange<RollbackRequest>(rollout, "/rollback", "Drop the candidate, or with 'to' serve an older snapshot to every unit, at once.", (c, r, caller, ct) =>
            c.RollbackAsync(caller.Actor, r.Reason!, r.To, ct), r => r.To);
        MapChange<ReasonRequest>(rollout, "/freeze", "Pin what is served: no promotion, rollback or automatic action until unfrozen.", (c, r, caller, ct) =>
            c.FreezeAsync(caller.Actor, r.Reason!, ct), _ => null);
        MapChange<ReasonRequest>(rollout, "/unfreeze", "Lift a freeze.", (c, r, caller, ct) =>
            c.UnfreezeAsync(caller.Actor, r.Reason!, ct), _ => null);

        api.MapPost("/learn", LearnAsync)
            .RequireAuthorization(LorePolicies.Admin)
            .WithTags("learning")
            .WithSummary("Run one learning pass now; a new snapshot enters the rollout as the server's rollout policy says.")
            .Produces<LearnResponse>();

        var review = api.MapGroup("/review").WithTags("review");
        review.MapGet("/", ReviewListAsync)
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Lessons the admission guards found borderline, waiting for a person, with the rules that queued them (?kind=, ?tool=, ?slice=, ?finding= narrow the list).")
            .Produces<IReadOnlyList<Lesson>>()
            .ProducesValidationProblem();
        review.MapGet("/{id}/evidence", EvidenceAsync)
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("A lesson's evidence side by side: episodes it was learned from and episodes where its advice worked, with steps and outcomes (?perSide=5).")
            .Produces<ReviewEvidence>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        review.MapPost("/approve", ApproveManyAsync)
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Admit several waiting lessons with one reason, in one snapshot: all of them, or none when one cannot be (the error names it).")
            .Accepts<BulkApproveRequest>("application/json")
            .Produces<BulkReviewResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        review.MapPost("/reject", RejectManyAsync)
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Reject several waiting lessons with one reason: all of them, or none when one is not waiting.")
            .Accepts<BulkReviewRequest>("application/json")
            .Produces<BulkReviewResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        review.MapPost("/{id}/approve", ApproveAsync)
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Admit a waiting lesson; a new snapshot containing it enters the rollout (entry: now, shadow or canary).")
            .Accepts<ApproveRequest>("application/json")
            .Produces<ReviewResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        review.MapPost("/{id}/reject", RejectAsync)
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Reject a waiting lesson with a reason; it is kept with the decision and never served.")
            .Accepts<ReasonRequest>("application/json")
            .Produces<ReviewResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        var audit = api.MapGroup("/audit").WithTags("audit");
        audit.MapGet("/", AuditListAsync)
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("The tenant's audit entries in order, numbered by the tenant's own chain (?about=ID, ?action=snapshot.rolled-back, ?last=100).")
            .Produces<IReadOnlyList<AuditEntry>>()
            .ProducesValidationProblem();
        audit.MapGet("/verify", AuditVerifyAsync)
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Recompute the tenant's own audit hash chain and name the first edited, deleted, inserted or reordered record (?expectHead=N:HASH of that chain).")
            .Produces<AuditVerifyResponse>()
            .ProducesValidationProblem();

        var keys = api.MapGroup("/keys").WithTags("keys");
        keys.MapGet("/", KeysListAsync)
            .RequireAuthorization(LorePolicies.Admin)
            .WithSummary("The tenant's API keys, newest first, revoked ones included (never their secrets).")
            .Produces<IReadOnlyList<ApiKeyView>>();
        keys.MapPost("/", KeysCreateAsync)
            .RequireAuthorization(LorePolicies.Admin)
            .WithSummary("Create an API key of this tenant (role agent, reviewer or admin); the secret is returned this once.")
            .Accepts<CreateKeyRequest>("application/json")
            .Produces<CreatedKeyResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        keys.MapPost("/{id}/trust", KeysTrustAsync)
            .RequireAuthorization(LorePolicies.Admin)
            .WithSummary("Set whether an API key of this tenant may assert units (each unit its own evidence source) or counts as one source; audited.")
            .Accepts<KeyTrustRequest>("application/json")
            .Produces<ApiKeyView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        keys.MapPost("/{id}/revoke", KeysRevokeAsync)
            .RequireAuthorization(LorePolicies.Admin)
            .WithSummary("Revoke an API key of this tenant; it never authenticates again.")
            .Accepts<ReasonRequest>("application/json")
            .Produces<ApiKeyView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>One rollout change: read and validate the body, check that a named snapshot is the tenant's, act, answer.</summary>
    private static void MapChange<T>(
        RouteGroupBuilder group,
        string pattern,
        string summary,
        Func<RolloutController, T, Caller, CancellationToken, Task<RolloutTransition>> act,
        Func<T, string?> snapshotOf,
        bool optionalBody = false)
        where T : class, IApiRequest, new()
    {
        group.MapPost(pattern, async (HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken) =>
            {
                var body = await ApiBody.ReadAsync<T>(context, optionalBody).ConfigureAwait(false);
                if (body.Problem is { } problem)
                {
                    return problem;
                }

                var caller = Caller.From(context);
                if (snapshotOf(body.Value!) is { } snapshotId
                    && await KnowledgeEndpoints.OwnSnapshotAsync(runtimes.Store, caller.Tenant, snapshotId, cancellationToken).ConfigureAwait(false) is null)
                {
                    return ApiProblems.NotFound("snapshot", snapshotId);
                }

                var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
                try
                {
                    return LoreApiEndpoints.Json(await act(runtime.Rollout, body.Value!, caller, cancellationToken).ConfigureAwait(false));
                }
                catch (InvalidOperationException e)
                {
                    // Frozen, nothing to promote or roll back, a candidate equal to the stable snapshot: the state refuses it.
                    return ApiProblems.Conflict(e.Message);
                }
            })
            .RequireAuthorization(LorePolicies.Admin)
            .WithSummary(summary)
            .Accepts<T>("application/json")
            .Produces<RolloutTransition>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
    }

    private static async Task<IResult> StatusAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var caller = Caller.From(context);
        var policy = runtimes.OptionsFor(caller.Tenant).Evaluation;
        return LoreApiEndpoints.Json(await RolloutStatus.ReadAsync(runtimes.Store, caller.Tenant, policy, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<IResult> LearnAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<EmptyRequest>(context, optional: true).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var caller = Caller.From(context);
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        var run = await runtime.LearnAsync(caller.Actor, progress: null, cancellationToken).ConfigureAwait(false);
        var entry = await new AuditTrail(runtimes.Store, runtimes.TimeProvider).RecordAsync(
            caller.Tenant,
            caller.Actor,
            AuditActions.LearningRequested,
            run.Id,
            run.SnapshotId is null ? "learning pass requested through the API; no change to the served lessons" : $"learning pass requested through the API; new snapshot {run.SnapshotId}",
            new { run = run.Id, snapshot = run.SnapshotId, episodesRead = run.EpisodesRead, newEpisodes = run.NewEpisodes, added = run.AddedLessonIds.Count },
            CancellationToken.None).ConfigureAwait(false);
        return LoreApiEndpoints.Json(new LearnResponse(run, entry.Sequence));
    }

    private static ReviewQueue Queue(TenantRuntimes runtimes, string tenant, RolloutPolicy? rollout = null)
        => new(AuthoringEndpoints.Pipeline(runtimes, tenant, rollout), tenant);

    private static async Task<IResult> ReviewListAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        ReviewFilter filter;
        try
        {
            filter = ReviewFilter.Parse(ApiQuery.String(context, "kind"), ApiQuery.String(context, "tool"), ApiQuery.String(context, "slice"), ApiQuery.String(context, "finding"));
        }
        catch (ArgumentException e)
        {
            return ApiProblems.Invalid("kind", e.Message);
        }

        return LoreApiEndpoints.Json(await Queue(runtimes, Caller.From(context).Tenant).ListAsync(filter, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<IResult> EvidenceAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        if (!ApiQuery.TryInt(context, "perSide", 5, 1, 50, out var perSide, out var problem))
        {
            return problem!;
        }

        try
        {
            return LoreApiEndpoints.Json(await Queue(runtimes, Caller.From(context).Tenant).EvidenceAsync(id, perSide, cancellationToken).ConfigureAwait(false));
        }
        catch (KeyNotFoundException)
        {
            return ApiProblems.NotFound("lesson", id);
        }
    }

    private static async Task<IResult> ApproveManyAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<BulkApproveRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var request = body.Value!;
        var caller = Caller.From(context);
        return await DecideManyAsync(runtimes, caller, queue => queue.ApproveManyAsync(request.Ids!, caller.Actor, request.Reason!, cancellationToken), request.Rollout(), cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IResult> RejectManyAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<BulkReviewRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var request = body.Value!;
        var caller = Caller.From(context);
        return await DecideManyAsync(runtimes, caller, queue => queue.RejectManyAsync(request.Ids!, caller.Actor, request.Reason!, cancellationToken), null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IResult> DecideManyAsync(TenantRuntimes runtimes, Caller caller, Func<ReviewQueue, Task<IReadOnlyList<ReviewOutcome>>> decide, RolloutPolicy? rollout, CancellationToken cancellationToken)
    {
        IReadOnlyList<ReviewOutcome> outcomes;
        try
        {
            outcomes = await decide(Queue(runtimes, caller.Tenant, rollout)).ConfigureAwait(false);
        }
        catch (KeyNotFoundException e)
        {
            return Results.Problem(detail: e.Message, statusCode: StatusCodes.Status404NotFound, title: "Not found");
        }
        catch (InvalidOperationException e)
        {
            return ApiProblems.Conflict(e.Message);
        }

        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        var state = await runtime.Rollout.RefreshAsync(cancellationToken).ConfigureAwait(false);
        return LoreApiEndpoints.Json(new BulkReviewResponse(outcomes, state));
    }

    private static async Task<IResult> ApproveAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<ApproveRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var request = body.Value!;
        var rollout = request.Rollout();
        var caller = Caller.From(context);
        return await DecideAsync(runtimes, caller, id, queue => queue.ApproveAsync(id, caller.Actor, request.Reason!, cancellationToken), rollout, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IResult> RejectAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<ReasonRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var caller = Caller.From(context);
        return await DecideAsync(runtimes, caller, id, queue => queue.RejectAsync(id, caller.Actor, body.Value!.Reason!, cancellationToken), null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IResult> DecideAsync(TenantRuntimes runtimes, Caller caller, string id, Func<ReviewQueue, Task<ReviewOutcome>> decide, RolloutPolicy? rollout, CancellationToken cancellationToken)
    {
        ReviewOutcome outcome;
        try
        {
            outcome = await decide(Queue(runtimes, caller.Tenant, rollout)).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            return ApiProblems.NotFound("lesson", id);
        }
        catch (InvalidOperationException e)
        {
            return ApiProblems.Conflict(e.Message);
        }

        // An approval's snapshot may have entered service: this server serves it from the next request.
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        var state = await runtime.Rollout.RefreshAsync(cancellationToken).ConfigureAwait(false);
        return LoreApiEndpoints.Json(new ReviewResponse(outcome, state));
    }

    private static async Task<IResult> AuditListAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        if (!ApiQuery.TryInt(context, "last", 1000, 1, 100_000, out var last, out var problem))
        {
            return problem!;
        }

        var about = ApiQuery.String(context, "about");
        var action = ApiQuery.String(context, "action");
        var caller = Caller.From(context);
        var entries = new List<AuditEntry>();
        await foreach (var entry in runtimes.Store.ReadTenantAuditAsync(caller.Tenant, 0, cancellationToken).ConfigureAwait(false))
        {
            if (entry.Tenant == caller.Tenant && (action is null || entry.Action == action) && (about is null || AuditTrail.Mentions(entry, about)))
            {
                entries.Add(entry);
            }
        }

        if (entries.Count > last)
        {
            entries.RemoveRange(0, entries.Count - last);
        }

        return LoreApiEndpoints.Json(entries);
    }

    private static async Task<IResult> AuditVerifyAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        AuditHead? expected = null;
        if (ApiQuery.String(context, "expectHead") is { } head)
        {
            try
            {
                expected = AuditHead.Parse(head);
            }
            catch (FormatException e)
            {
                return ApiProblems.Invalid("expectHead", e.Message);
            }
        }

        // The tenant's own chain: its entries numbered 1, 2, 3..., hashed over each other only, so neither the result nor
        // a fault it names says anything about other tenants' activity.
        var caller = Caller.From(context);
        var result = await AuditVerifier.VerifyTenantAsync(runtimes.Store, caller.Tenant, expected, cancellationToken).ConfigureAwait(false);
        var fault = result.Fault;
        return LoreApiEndpoints.Json(new AuditVerifyResponse(result.IsIntact, result.Records, result.Head.ToString(), fault));
    }

    private static async Task<IResult> KeysListAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var keys = await runtimes.Store.ListApiKeysAsync(Caller.From(context).Tenant, cancellationToken).ConfigureAwait(false);
        return LoreApiEndpoints.Json(keys.Select(ApiKeys.View).ToArray());
    }

    private static async Task<IResult> KeysCreateAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<CreateKeyRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var caller = Caller.From(context);
        var issued = await ApiKeys.CreateAsync(runtimes.Store, caller.Tenant, LorePolicies.ParseRole(body.Value!.Role!), body.Value.Name!, caller.Actor, runtimes.TimeProvider, body.Value.TrustUnits, cancellationToken).ConfigureAwait(false);
        context.Response.Headers.Location = $"/api/keys/{issued.Key.Id}";
        return LoreApiEndpoints.Json(
            new CreatedKeyResponse(ApiKeys.View(issued.Key), issued.Secret, "Store the secret now: Lore keeps only its hash and cannot show it again."),
            StatusCodes.Status201Created);
    }

    private static async Task<IResult> KeysTrustAsync(HttpContext context, string id, TenantRuntimes runtimes, ApiKeyCache keys, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<KeyTrustRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var caller = Caller.From(context);
        var key = await ApiKeys.SetTrustAsync(runtimes.Store, id, caller.Tenant, body.Value!.TrustUnits!.Value, caller.Actor, body.Value.Reason!, runtimes.TimeProvider, cancellationToken).ConfigureAwait(false);
        keys.Forget(id);
        return key is null ? ApiProblems.NotFound("API key", id) : LoreApiEndpoints.Json(ApiKeys.View(key));
    }

    private static async Task<IResult> KeysRevokeAsync(HttpContext context, string id, TenantRuntimes runtimes, ApiKeyCache keys, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<ReasonRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var caller = Caller.From(context);
        var revoked = await ApiKeys.RevokeAsync(runtimes.Store, id, caller.Tenant, caller.Actor, body.Value!.Reason!, runtimes.TimeProvider, cancellationToken).ConfigureAwait(false);
        keys.Forget(id);
        return revoked is null ? ApiProblems.NotFound("API key", id) : LoreApiEndpoints.Json(ApiKeys.View(revoked));
    }
}
