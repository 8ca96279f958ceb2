using System.Text;
using System.Text.Json;
using Lore.Learning;
using Lore.Learning.Authoring;
using Lore.Learning.Bundles;
using Lore.Server.Hosting;
using Lore.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lore.Server.Api;

/// <summary>
/// People acting on single lessons (add, edit, retire, pin, unpin: reviewers and admins) and moving learned state
/// between stores (export and import: admins). Every change goes through <see cref="LessonAuthoring"/> or
/// <see cref="SnapshotBundles"/>, so it is screened, versioned, audited and served only through the rollout.
/// </summary>
internal static class AuthoringEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var lessons = api.MapGroup("/lessons").WithTags("lessons");
        lessons.MapPost("/", (HttpContext c, TenantRuntimes r, CancellationToken ct) => ChangeAsync<AuthorLessonRequest>(c, r, (a, q, who) => a.AddAsync(q.Draft(), q.Action(who), ct), ct))
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Write a lesson (a policy the agent must follow): screened, audited, served through a new snapshot in the rollout.")
            .Accepts<AuthorLessonRequest>("application/json")
            .Produces<AuthoringOutcome>();
        lessons.MapPost("/{id}/edit", (HttpContext c, string id, TenantRuntimes r, CancellationToken ct) => ChangeAsync<EditLessonRequest>(c, r, (a, q, who) => a.EditAsync(id, q.Edit(), q.Action(who), ct), ct, id))
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Make a new version of a lesson; the previous version stays in its lineage.")
            .Accepts<EditLessonRequest>("application/json")
            .Produces<AuthoringOutcome>();
        lessons.MapPost("/{id}/retire", (HttpContext c, string id, TenantRuntimes r, CancellationToken ct) => ChangeAsync<LessonActionRequest>(c, r, (a, q, who) => a.RetireAsync(id, q.Action(who), ct), ct, id))
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Take one lesson out of service: a child snapshot without it enters the rollout.")
            .Accepts<LessonActionRequest>("application/json")
            .Produces<AuthoringOutcome>();
        lessons.MapPost("/{id}/pin", (HttpContext c, string id, TenantRuntimes r, CancellationToken ct) => ChangeAsync<LessonActionRequest>(c, r, (a, q, who) => a.PinAsync(id, pinned: true, q.Action(who), ct), ct, id))
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Pin a lesson: injected whenever in scope, first.")
            .Accepts<LessonActionRequest>("application/json")
            .Produces<AuthoringOutcome>();
        lessons.MapPost("/{id}/unpin", (HttpContext c, string id, TenantRuntimes r, CancellationToken ct) => ChangeAsync<LessonActionRequest>(c, r, (a, q, who) => a.PinAsync(id, pinned: false, q.Action(who), ct), ct, id))
            .RequireAuthorization(LorePolicies.Reviewer)
            .WithSummary("Unpin a lesson.")
            .Accepts<LessonActionRequest>("application/json")
            .Produces<AuthoringOutcome>();

        var snapshots = api.MapGroup("/snapshots").WithTags("snapshots");
        snapshots.MapPost("/{id}/export", ExportAsync)
            .RequireAuthorization(LorePolicies.Admin)
            .WithSummary("The snapshot as a self-contained bundle (no episodes, no personal data), signed when a key is given.")
            .Accepts<ExportRequest>("application/json");
        snapshots.MapPost("/import", ImportAsync)
            .RequireAuthorization(LorePolicies.Admin)
            .WithSummary("Verify a bundle and add it as a candidate that enters this tenant's rollout (canary by default).")
            .Accepts<ImportRequest>("application/json")
            .Produces<BundleImport>();
    }

    internal static LearningPipeline Pipeline(TenantRuntimes runtimes, string tenant, RolloutPolicy? rollout = null)
    {
        var options = runtimes.OptionsFor(tenant);
        var logger = runtimes.LoggerFactory?.CreateLogger("Lore") ?? NullLogger.Instance;
        return new LearningPipeline(runtimes.Store, options.Learning, runtimes.TimeProvider, logger) { Rollout = rollout ?? options.Rollout };
    }

    private static async Task<IResult> ChangeAsync<T>(HttpContext context, TenantRuntimes runtimes, Func<LessonAuthoring, T, Caller, Task<AuthoringOutcome>> change, CancellationToken cancellationToken, string? lessonId = null)
        where T : class, IApiRequest, new()
    {
        var body = await ApiBody.ReadAsync<T>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var caller = Caller.From(context);
        AuthoringOutcome outcome;
        try
        {
            outcome = await change(new LessonAuthoring(Pipeline(runtimes, caller.Tenant), caller.Tenant), body.Value!, caller).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            return ApiProblems.NotFound("lesson", lessonId ?? "");
        }
        catch (UnauthorizedAccessException e)
        {
            return Results.Problem(detail: e.Message, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
        }
        catch (InvalidOperationException e)
        {
            return ApiProblems.Conflict(e.Message);
        }
        catch (ArgumentException e)
        {
            return ApiProblems.Invalid(e.ParamName is { } p ? JsonNamingPolicy.CamelCase.ConvertName(p) : "$", e.Message);
        }

        // The change's snapshot may have entered service: this server serves it from the next request.
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        await runtime.Rollout.RefreshAsync(cancellationToken).ConfigureAwait(false);
        return LoreApiEndpoints.Json(outcome);
    }

    private static async Task<IResult> ExportAsync(HttpContext context, string id, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<ExportRequest>(context, optional: true).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var caller = Caller.From(context);
        BundleKey? key;
        try
        {
            key = body.Value!.SignKey is { } text ? BundleKey.Parse(text) : null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            return ApiProblems.Invalid("signKey", e.Message);
        }

        using (key)
        {
            using var output = new MemoryStream();
            try
            {
                await SnapshotBundles.ExportAsync(Pipeline(runtimes, caller.Tenant), caller.Tenant, id, output, caller.Actor, key, cancellationToken).ConfigureAwait(false);
            }
            catch (KeyNotFoundException)
            {
                return ApiProblems.NotFound("snapshot", id);
            }
            catch (InvalidOperationException e)
            {
                return ApiProblems.Invalid("signKey", e.Message);
            }

            context.Response.Headers.ContentDisposition = $"attachment; filename=\"{id}.bundle\"";
            return Results.Bytes(output.ToArray(), "application/json");
        }
    }

    private static async Task<IResult> ImportAsync(HttpContext context, TenantRuntimes runtimes, CancellationToken cancellationToken)
    {
        var body = await ApiBody.ReadAsync<ImportRequest>(context).ConfigureAwait(false);
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var request = body.Value!;
        var caller = Caller.From(context);
        BundleKey? key;
        try
        {
            key = request.VerifyKey is { } text ? BundleKey.Parse(text) : null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            return ApiProblems.Invalid("verifyKey", e.Message);
        }

        using (key)
        {
            var options = new BundleImportOptions(caller.Actor, caller.Role, request.Reason!)
            {
                Key = key,
                AllowUnsigned = request.AllowUnsigned,
                Entry = new RolloutPolicy
                {
                    EntryStage = request.Entry switch { "shadow" => RolloutStage.Shadow, "now" => RolloutStage.None, _ => RolloutStage.Canary },
                    CanaryShare = request.Share ?? 0.1,
                },
            };
            BundleImport imported;
            try
            {
                imported = await SnapshotBundles.ImportAsync(Pipeline(runtimes, caller.Tenant), caller.Tenant, Encoding.UTF8.GetBytes(request.Bundle.GetRawText()), options, cancellationToken).ConfigureAwait(false);
            }
            catch (BundleRefusedException e)
            {
                return Results.Problem(detail: e.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: $"Bundle refused ({e.Check})", extensions: new Dictionary<string, object?> { ["check"] = e.Check });
            }

            var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
            await runtime.Rollout.RefreshAsync(cancellationToken).ConfigureAwait(false);
            return LoreApiEndpoints.Json(imported);
        }
    }
}

/// <summary>Shared fields of a change to a lesson: why, whether to serve at once (admins), and an admin's override of the screen.</summary>
internal class LessonActionRequest : IApiRequest
{
    public string? Reason { get; set; }

    /// <summary>Serve the new snapshot to every unit at once instead of through the rollout policy (admins only).</summary>
    public bool ServeNow { get; set; }

    /// <summary>An admin's reason to serve the lesson although the content screen blocks it.</summary>
    public string? OverrideReason { get; set; }

    public AuthorAction Action(Caller caller) => new(caller.Actor, caller.Role, Reason!) { ServeNow = ServeNow, OverrideReason = OverrideReason };

    public virtual void Validate(ApiValidation errors)
    {
        errors.Required("reason", Reason, 2_000);
        if (OverrideReason is not null)
        {
            errors.Required("overrideReason", OverrideReason, 2_000);
        }
    }
}

/// <summary>What a lesson says and where it applies.</summary>
internal class LessonContentRequest : LessonActionRequest
{
    public string? Text { get; set; }

    /// <summary>guideline, procedure, toolGuide or antiPattern.</summary>
    public LessonKind? Kind { get; set; }

    /// <summary>Apply when the task mentions one of these words.</summary>
    public List<string>? Keywords { get; set; }

    /// <summary>Always a candidate within its scope.</summary>
    public bool Always { get; set; }

    /// <summary>Only for episodes carrying these labels.</summary>
    public Dictionary<string, string>? Labels { get; set; }

    /// <summary>Only for agents offering these tools.</summary>
    public List<string>? Tools { get; set; }

    public LessonTrigger? Trigger => Always ? LessonTrigger.Always : Keywords is { Count: > 0 } k ? LessonTrigger.OnKeywords([.. k]) : null;

    public override void Validate(ApiValidation errors)
    {
        base.Validate(errors);
        errors.MaxLength("text", Text, LessonDraft.MaxTextLength);
        if (Always && Keywords is { Count: > 0 })
        {
            errors.Add("always", "and keywords exclude each other.");
        }
    }
}

internal sealed class AuthorLessonRequest : LessonContentRequest
{
    /// <summary>Pinned: injected whenever in scope, first.</summary>
    public bool Pinned { get; set; }

    public LessonDraft Draft() => new()
    {
        Text = Text ?? "",
        Kind = Kind ?? LessonKind.Guideline,
        Trigger = Trigger,
        Labels = Labels ?? [],
        Tools = Tools ?? [],
        Pinned = Pinned,
    };

    public override void Validate(ApiValidation errors)
    {
        base.Validate(errors);
        errors.Required("text", Text, LessonDraft.MaxTextLength);
    }
}

internal sealed class EditLessonRequest : LessonContentRequest
{
    public LessonEdit Edit() => new() { Text = Text, Kind = Kind, Trigger = Trigger, Labels = Labels, Tools = Tools };
}

internal sealed class ExportRequest : IApiRequest
{
    /// <summary>A PEM ECDSA P-256 private key or an HMAC secret (at least 32 bytes) to sign the bundle with.</summary>
    public string? SignKey { get; set; }

    public void Validate(ApiValidation errors) => errors.MaxLength("signKey", SignKey, 10_000);
}

internal sealed class ImportRequest : IApiRequest
{
    /// <summary>The bundle exactly as <c>lore snapshots export</c> or <c>POST /api/snapshots/{id}/export</c> wrote it.</summary>
    public JsonElement Bundle { get; set; }

    /// <summary>The key the bundle must be signed with (a PEM public key, or the HMAC secret).</summary>
    public string? VerifyKey { get; set; }

    public bool AllowUnsigned { get; set; }

    public string? Reason { get; set; }

    /// <summary>canary (default), shadow or now.</summary>
    public string? Entry { get; set; }

    public double? Share { get; set; }

    public void Validate(ApiValidation errors)
    {
        errors.Required("reason", Reason, 2_000);
        errors.MaxLength("verifyKey", VerifyKey, 10_000);
        if (Bundle.ValueKind != JsonValueKind.Object)
        {
            errors.Add("bundle", "is required: the bundle's JSON object.");
        }

        if (Entry is not (null or "now" or "shadow" or "canary"))
        {
            errors.Add("entry", $"is '{Entry}'; it must be canary, shadow or now.");
        }

        if (Share is { } share && (double.IsNaN(share) || share is <= 0 or > 1))
        {
            errors.Add("share", $"is {share}; it must lie in (0, 1].");
        }
    }
}
