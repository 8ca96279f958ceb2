using Lore.Server.Hosting;
using Lore.Server.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server.Dashboard;

/// <summary>
/// What a dashboard page needs for one request: the signed-in caller (tenant and role come only from the key), the
/// store and the tenant's runtime, and the antiforgery token its forms carry.
/// </summary>
internal sealed class DashboardContext
{
    private AntiforgeryTokenSet? _tokens;

    private DashboardContext(HttpContext http, Caller caller)
    {
        Http = http;
        Caller = caller;
        Runtimes = http.RequestServices.GetRequiredService<TenantRuntimes>();
    }

    public HttpContext Http { get; }

    public Caller Caller { get; }

    public TenantRuntimes Runtimes { get; }

    public ILoreStore Store => Runtimes.Store;

    public string Tenant => Caller.Tenant;

    public CancellationToken Aborted => Http.RequestAborted;

    public bool CanReview => Caller.Allows(ApiKeyRole.Reviewer);

    public bool CanAdminister => Caller.Allows(ApiKeyRole.Admin);

    public static DashboardContext From(HttpContext http) => new(http, Caller.From(http));

    /// <summary>True when the request carries a valid Lore key (header or the dashboard's cookie).</summary>
    public static bool IsSignedIn(HttpContext http)
        => http.User.Identity?.IsAuthenticated == true && http.User.HasClaim(c => c.Type == Caller.KeyIdClaim);

    public Task<LoreRuntime> RuntimeAsync() => Runtimes.GetAsync(Tenant, Aborted);

    /// <summary>The hidden field every POST form of the page carries; the token is bound to this caller.</summary>
    public Html AntiforgeryField()
    {
        _tokens ??= Http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(Http);
        return AntiforgeryField(_tokens);
    }

    public static Html AntiforgeryField(AntiforgeryTokenSet tokens)
        => H.Of($"<input type=\"hidden\" name=\"{tokens.FormFieldName}\" value=\"{tokens.RequestToken}\">");
}
