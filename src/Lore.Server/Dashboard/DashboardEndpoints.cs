using Lore.Server.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server.Dashboard;

/// <summary>
/// Registers and maps the web dashboard under <c>/dashboard</c>: server-rendered pages over the same engine calls the
/// <c>lore</c> command makes, behind the server's API-key authentication (signed in through a cookie). Reading needs
/// any key of the tenant; the buttons that change something need a reviewer or admin key, an antiforgery token and a
/// reason, and are audited with the key as actor.
/// </summary>
internal static class DashboardEndpoints
{
    public static void AddServices(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "lore_form";
            o.Cookie.Path = "/dashboard";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
        });
    }

    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var dashboard = app.MapGroup("/dashboard").ExcludeFromDescription();

        dashboard.MapGet("/assets/{name}", DashboardAssets.Serve).AllowAnonymous();
        dashboard.MapGet("/sign-in", (HttpContext http, string? returnUrl) => SignInPage.Form(http, returnUrl)).AllowAnonymous();
        dashboard.MapPost("/sign-in", Handler(SignInPage.SubmitAsync)).AllowAnonymous();
        dashboard.MapPost("/sign-out", Handler(SignInPage.SignOutAsync)).AllowAnonymous();

        // Pages: a visitor without a valid key is sent to the sign-in page rather than answered 401.
        var pages = dashboard.MapGroup("").AddEndpointFilter(RequireSignIn);
        pages.MapGet("", Handler(TimelinePage.RenderAsync));
        pages.MapGet("/outcomes", (HttpContext http, int? buckets, string? axis) => OutcomesPage.RenderAsync(http, buckets, axis));
        pages.MapGet("/error-mix", Handler(ErrorMixPage.RenderAsync));
        pages.MapGet("/lessons", (HttpContext http, string? q, string? status, string? kind) => LessonsPage.ListAsync(http, q, status, kind));
        pages.MapGet("/lessons/new", Handler(LessonForms.NewAsync));
        pages.MapGet("/lessons/{id}", (HttpContext http, string id) => LessonsPage.ShowAsync(http, id));
        pages.MapGet("/episodes", (HttpContext http, string? slice, string? arm, string? outcome) => EpisodesPage.ListAsync(http, slice, arm, outcome));
        pages.MapGet("/episodes/{id}", (HttpContext http, string id) => EpisodesPage.ShowAsync(http, id));
        pages.MapGet("/snapshots/{id}", (HttpContext http, string id) => SnapshotPage.RenderAsync(http, id));
        pages.MapGet("/review", (HttpContext http, string? kind, string? tool, string? slice, string? finding) => ReviewPage.RenderAsync(http, kind, tool, slice, finding));
        pages.MapGet("/audit", (HttpContext http, long? before, long? highlight) => AuditPage.RenderAsync(http, before, highlight));

        dashboard.MapGet("/live", async (HttpContext http) =>
        {
            var caller = Caller.From(http);
            var store = DashboardContext.From(http).Store;
            http.Response.Headers.CacheControl = "no-store";
            return Results.Json(new LiveState(await LiveVersion.ComputeAsync(store, caller.Tenant, http.RequestAborted).ConfigureAwait(false)));
        }).RequireAuthorization(LorePolicies.Agent);

        // Actions: the policy refuses a key without the role before the handler runs; the handler checks the token and reason.
        dashboard.MapPost("/review/{id}/approve", (HttpContext http, string id) => DashboardActions.ApproveAsync(http, id)).RequireAuthorization(LorePolicies.Reviewer);
        dashboard.MapPost("/review/{id}/reject", (HttpContext http, string id) => DashboardActions.RejectAsync(http, id)).RequireAuthorization(LorePolicies.Reviewer);
        dashboard.MapPost("/review/approve", Handler(DashboardActions.ApproveManyAsync)).RequireAuthorization(LorePolicies.Reviewer);
        dashboard.MapPost("/review/reject", Handler(DashboardActions.RejectManyAsync)).RequireAuthorization(LorePolicies.Reviewer);
        dashboard.MapPost("/lessons", Handler(LessonForms.AddAsync)).RequireAuthorization(LorePolicies.Reviewer);
        dashboard.MapPost("/lessons/{id}/edit", (HttpContext http, string id) => LessonForms.EditAsync(http, id)).RequireAuthorization(LorePolicies.Reviewer);
        dashboard.MapPost("/lessons/{id}/pin", (HttpContext http, string id) => LessonForms.PinAsync(http, id, pinned: true)).RequireAuthorization(LorePolicies.Reviewer);
        dashboard.MapPost("/lessons/{id}/unpin", (HttpContext http, string id) => LessonForms.PinAsync(http, id, pinned: false)).RequireAuthorization(LorePolicies.Reviewer);
        dashboard.MapPost("/lessons/{id}/retire", (HttpContext http, string id) => LessonForms.RetireAsync(http, id)).RequireAuthorization(LorePolicies.Reviewer);
        dashboard.MapPost("/rollout/freeze", Handler(DashboardActions.FreezeAsync)).RequireAuthorization(LorePolicies.Admin);
        dashboard.MapPost("/rollout/unfreeze", Handler(DashboardActions.UnfreezeAsync)).RequireAuthorization(LorePolicies.Admin);
        dashboard.MapPost("/rollout/rollback", Handler(DashboardActions.RollbackAsync)).RequireAuthorization(LorePolicies.Admin);
        dashboard.MapPost("/rollout/promote", Handler(DashboardActions.PromoteAsync)).RequireAuthorization(LorePolicies.Admin);
    }

    private static async ValueTask<object?> RequireSignIn(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!DashboardContext.IsSignedIn(http))
        {
            var back = http.Request.Path + http.Request.QueryString;
            return Results.Redirect("/dashboard/sign-in?returnUrl=" + Uri.EscapeDataString(back));
        }

        return await next(context).ConfigureAwait(false);
    }

    /// <summary>Binds a handler that reads only the request as a route handler, so its result is written (not as a bare RequestDelegate).</summary>
    private static Delegate Handler(Func<HttpContext, Task<IResult>> handler) => handler;

    private sealed record LiveState(string Version);
}
