using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Security;

/// <summary>
/// Who is calling, as proven by their API key: every handler reads the tenant from here and never from the request,
/// which is what makes cross-tenant access impossible rather than merely checked.
/// </summary>
/// <param name="KeyId">The key's public id (the audit actor is <c>key:{KeyId}</c>).</param>
/// <param name="Tenant">The only tenant this caller may read or change.</param>
/// <param name="Role">What the caller may do.</param>
/// <param name="TrustUnits">Whether an admin trusts the key to assert units (<see cref="ApiKey.TrustUnits"/>).</param>
internal sealed record Caller(string KeyId, string Tenant, ApiKeyRole Role, bool TrustUnits = false)
{
    public const string TenantClaim = "lore:tenant";
    public const string KeyIdClaim = "lore:key";
    public const string TrustUnitsClaim = "lore:trust-units";

    /// <summary>
    /// The <see cref="Episode.Source"/> of an episode this caller sends for <paramref name="unitKey"/>: the one place a
    /// client's unit name becomes evidence identity (<see cref="EpisodeSources.OfKey"/>).
    /// </summary>
    public string SourceFor(string? unitKey) => EpisodeSources.OfKey(KeyId, EpisodeSources.AssertsUnits(Role, TrustUnits), unitKey);

    /// <summary>The caller's rate-limit bucket (<c>key:{KeyId}</c>), made once per caller rather than per request.</summary>
    public string Partition { get; } = "key:" + KeyId;

    /// <summary>The audit log's actor for changes this caller makes.</summary>
    public string Actor => $"key:{KeyId}";

    public bool Allows(ApiKeyRole required) => Role >= required;

    public ClaimsPrincipal ToPrincipal(string scheme)
    {
        var identity = new ClaimsIdentity(
            [
                new Claim(KeyIdClaim, KeyId),
                new Claim(TenantClaim, Tenant),
                new Claim(ClaimTypes.Role, LorePolicies.RoleName(Role)),
                new Claim(TrustUnitsClaim, TrustUnits ? "true" : "false"),
            ],
            scheme);
        return new CallerPrincipal(this, identity);
    }

    /// <summary>The authenticated caller of a request that passed authorization.</summary>
    public static Caller From(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var user = context.User;
        if (user is CallerPrincipal { Caller: var known })
        {
            // The principal this server's key authentication made: the caller it was made from, without reading claims.
            return known;
        }

        var keyId = user.FindFirstValue(KeyIdClaim);
        var tenant = user.FindFirstValue(TenantClaim);
        var role = user.FindFirstValue(ClaimTypes.Role);
        if (keyId is null || tenant is null || role is null)
        {
            throw new InvalidOperationException("The request has no authenticated Lore caller; the endpoint must require a Lore policy.");
        }

        return new Caller(keyId, tenant, LorePolicies.ParseRole(role), user.FindFirstValue(TrustUnitsClaim) == "true");
    }
}

/// <summary>The principal of an authenticated Lore key, carrying the <see cref="Security.Caller"/> its claims were made from.</summary>
internal sealed class CallerPrincipal(Caller caller, ClaimsIdentity identity) : ClaimsPrincipal(identity)
{
    public Caller Caller { get; } = caller;
}
