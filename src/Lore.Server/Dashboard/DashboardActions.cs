using Lore.Learning;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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
    public static ReviewQueue OpenReviewQueue(DashboardContext d)
    {
        var options = d.Runtimes.OptionsFor(d.Tenant);
        var logger = d.Runtimes.LoggerFactory?.CreateLogger("Lore") ?? NullLogger.Instance;
        return new ReviewQueue(new LearningPipeline(d.Store, options.Learning, d.Runtimes.TimeProvider, logger) { Rollout = options.Rollout }, d.Tenant);
    }

    private static async Task<AuditEntry> LatestAuditAsync(DashboardContext d, string action, string subject)
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

    private static async Task<IResult> ActAsync(
        HttpContext http,
        ApiKeyRole required,
        string section,
        string fallback,
        Func<DashboardContext, IFormCollection, string, Task<AuditEntry>> act)
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
        try
        {
            audit = await act(d, form, reason).ConfigureAwait(false);
        }
        catch (KeyNotFoundException e)
        {
            return await RefusedAsync(d, section, StatusCodes.Status404NotFound, e.Message).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            return await RefusedAsync(d, section, StatusCodes.Status409Conflict, e.Message).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            return await RefusedAsync(d, section, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
        }

        return Results.Redirect(DashboardForms.WithDone(DashboardForms.ReturnPath(form, fallback), audit.Sequence));
    }

    private static Task<IResult> RefusedAsync(DashboardContext d, string section, int status, string message)
        => DashboardLayout.PageAsync(d, section, "Not done", H.Of($"""
            <p class="banner bad" role="alert" data-testid="refused">{message}</p>
            <p>Nothing was changed. <a href="/dashboard">Back to the timeline</a></p>
            """), status);
}
