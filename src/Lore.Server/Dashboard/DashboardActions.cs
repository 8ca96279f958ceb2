using Lore.Learning;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// The buttons that change something: approve or reject a lesson (reviewer), freeze, unfreeze, roll back or promote
/// (admin). Each goes through the engine exactly as the <c>lore</c> command does (the review queue, the tenant's
/// rollout controller), with the key as the audited actor and the reason the user typed; the runtime serving the
/// tenant sees the change at once.
/// </summary>
internal static class DashboardActions
{
    public static Task<IResult> ApproveAsync(HttpContext http, string id)
        => ActAsync(http, ApiKeyRole.Reviewer, "review", $"/dashboard/lessons/{Uri.EscapeDataString(id)}", async (d, form, reason) =>
        {
            var outcome = await OpenReviewQueue(d).ApproveAsync(id, d.Caller.Actor, reason, d.Aborted).ConfigureAwait(false);
            await (await d.RuntimeAsync().ConfigureAwait(false)).RefreshAsync(d.Aborted).ConfigureAwait(false);
            return await LatestAuditAsync(d, AuditActions.ReviewApproved, outcome.Lesson.Id).ConfigureAwait(false);
        });

    public static Task<IResult> RejectAsync(HttpContext http, string id)
        => ActAsync(http, ApiKeyRole.Reviewer, "review", $"/dashboard/lessons/{Uri.EscapeDataString(id)}", async (d, form, reason) =>
        {
            var outcome = await OpenReviewQueue(d).RejectAsync(id, d.Caller.Actor, reason, d.Aborted).ConfigureAwait(false);
            return await LatestAuditAsync(d, AuditActions.ReviewRejected, outcome.Lesson.Id).ConfigureAwait(false);
        });

    /// <summary>Approves the ticked lessons with one reason, in one snapshot: all of them or none.</summary>
    public static Task<IResult> ApproveManyAsync(HttpContext http)
        => ActAsync(http, ApiKeyRole.Reviewer, "review", "/dashboard/review", async (d, form, reason) =>
        {
            var ids = Ticked(form);
            await OpenReviewQueue(d).ApproveManyAsync(ids, d.Caller.Actor, reason, d.Aborted).ConfigureAwait(false);
            await (await d.RuntimeAsync().ConfigureAwait(false)).RefreshAsync(d.Aborted).ConfigureAwait(false);
            return await LatestAuditAsync(d, AuditActions.ReviewApproved, ids[^1]).ConfigureAwait(false);
        });

    /// <summary>Rejects the ticked lessons with one reason: all of them or none.</summary>
    public static Task<IResult> RejectManyAsync(HttpContext http)
        => ActAsync(http, ApiKeyRole.Reviewer, "review", "/dashboard/review", async (d, form, reason) =>
        {
            var ids = Ticked(form);
            await OpenReviewQueue(d).RejectManyAsync(ids, d.Caller.Actor, reason, d.Aborted).ConfigureAwait(false);
            return await LatestAuditAsync(d, AuditActions.ReviewRejected, ids[^1]).ConfigureAwait(false);
        });

    private static string[] Ticked(IFormCollection form)
    {
        var ids = form["id"].Where(id => !string.IsNullOrWhiteSpace(id)).Select(id => id!.Trim()).Distinct(StringComparer.Ordinal).ToArray();
        return ids.Length > 0 ? ids : throw new ArgumentException("Tick at least one lesson to decide.");
    }

    public static Task<IResult> FreezeAsync(HttpContext http)
        => RolloutAsync(http, (rollout, d, form, reason) => rollout.FreezeAsync(d.Caller.Actor, reason, d.Aborted));

    public static Task<IResult> UnfreezeAsync(HttpContext http)
        => RolloutAsync(http, (rollout, d, form, reason) => rollout.UnfreezeAsync(d.Caller.Actor, reason, d.Aborted));

    public static Task<IResult> PromoteAsync(HttpContext http)
        => RolloutAsync(http, (rollout, d, form, reason) => rollout.PromoteAsync(d.Caller.Actor, reason, d.Aborted));

    /// <summary>Drops the candidate, or with a <c>to</c> field serves that older snapshot to every unit.</summary>
    public static Task<IResult> RollbackAsync(HttpContext http)
        => RolloutAsync(http, async (rollout, d, form, reason) =>
        {
            var to = form["to"].ToString().Trim();
            if (to.Length == 0)
            {
                return await rollout.RollbackAsync(d.Caller.Actor, reason, null, d.Aborted).ConfigureAwait(false);
            }

            // Only a snapshot of the caller's own tenant can be served to it.
            var snapshot = await d.Store.GetSnapshotAsync(to, d.Aborted).ConfigureAwait(false);
            if (snapshot is null || snapshot.Tenant != d.Tenant)
            {
                throw new KeyNotFoundException($"No snapshot '{to}' for tenant '{d.Tenant}'.");
            }

            return await rollout.RollbackAsync(d.Caller.Actor, reason, to, d.Aborted).ConfigureAwait(false);
        });

    private static Task<IResult> RolloutAsync(HttpContext http, Func<RolloutController, DashboardContext, IFormCollection, string, Task<RolloutTransition>> change)
        => ActAsync(http, ApiKeyRole.Admin, "timeline", "/dashboard", async (d, form, reason) =>
        {
            var runtime = await d.RuntimeAsync().ConfigureAwait(false);
            var transition = await change(runtime.Rollout, d, form, reason).ConfigureAwait(false);
            return transition.Audit
                ?? throw new InvalidOperationException("Nothing changed: the rollout already was as asked.");
        });

    /// <summary>The review queue with the tenant's own admission and rollout policy, as the tenant's learning uses them.</summary>
    public static ReviewQueue OpenReviewQueue(DashboardContext d) => new(Api.AuthoringEndpoints.Pipeline(d.Runtimes, d.Tenant), d.Tenant);

    internal static async Task<AuditEntry> LatestAuditAsync(DashboardContext d, string action, string subject)
    {
        AuditEntry? latest = null;
        await foreach (var entry in d.Store.ReadTenantAuditAsync(d.Tenant, 0, d.Aborted).ConfigureAwait(false))
        {
            if (entry.Tenant == d.Tenant && entry.Action == action && entry.Subject == subject)
            {
                latest = entry;
            }
        }

        return latest ?? throw new InvalidOperationException($"The {action} of '{subject}' left no audit record.");
    }

    private static Task<IResult> ActAsync(
        HttpContext http,
        ApiKeyRole required,
        string section,
        string fallback,
        Func<DashboardContext, IFormCollection, string, Task<AuditEntry>> act)
        => ActAsync(http, required, section, fallback, async (d, form, reason) => (await act(d, form, reason).ConfigureAwait(false), (string?)null));

    /// <summary>
    /// Runs an action after checking the role, the antiforgery token and the reason; a refusal (unknown id, forbidden
    /// option, conflict, bad field) is a page saying why, with nothing changed. The action returns its audit record and,
    /// optionally, the page to go to (otherwise the form's return path).
    /// </summary>
    internal static async Task<IResult> ActAsync(
        HttpContext http,
        ApiKeyRole required,
        string section,
        string fallback,
        Func<DashboardContext, IFormCollection, string, Task<(AuditEntry Audit, string? Return)>> act)
    {
        var d = DashboardContext.From(http);
        if (!d.Caller.Allows(required))
        {
            // The endpoint's policy already refuses; this keeps the handler safe on its own.
            return await RefusedAsync(d, section, StatusCodes.Status403Forbidden, $"A {required.ToString().ToLowerInvariant()} key is needed for this action; you are signed in with an {d.Caller.Role.ToString().ToLowerInvariant()} key.").ConfigureAwait(false);
        }

        var form = await DashboardForms.ReadAsync(http).ConfigureAwait(false);
        if (form is null)
        {
            return await RefusedAsync(d, section, StatusCodes.Status400BadRequest, "The form was not sent from this dashboard (its antiforgery token is missing or belongs to another sign-in). Reload the page and try again.").ConfigureAwait(false);
        }

        var reason = DashboardForms.Reason(form);
        if (reason is null)
        {
            return await RefusedAsync(d, section, StatusCodes.Status400BadRequest, $"A reason is required (at most {DashboardForms.MaxReasonLength} characters): it goes into the audit log.").ConfigureAwait(false);
        }

        AuditEntry audit;
        string? next;
        try
        {
            (audit, next) = await act(d, form, reason).ConfigureAwait(false);
        }
        catch (KeyNotFoundException e)
        {
            return await RefusedAsync(d, section, StatusCodes.Status404NotFound, e.Message).ConfigureAwait(false);
        }
        catch (UnauthorizedAccessException e)
        {
            return await RefusedAsync(d, section, StatusCodes.Status403Forbidden, e.Message).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            return await RefusedAsync(d, section, StatusCodes.Status409Conflict, e.Message).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            return await RefusedAsync(d, section, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
        }

        return Results.Redirect(DashboardForms.WithDone(next ?? DashboardForms.ReturnPath(form, fallback), audit.Sequence));
    }

    internal static Task<IResult> RefusedAsync(DashboardContext d, string section, int status, string message)
        => DashboardLayout.PageAsync(d, section, "Not done", H.Of($"""
            <p class="banner bad" role="alert" data-testid="refused">{message}</p>
            <p>Nothing was changed. <a href="/dashboard">Back to the timeline</a></p>
            """), status);
}
