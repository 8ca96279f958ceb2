using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Lore.Server.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Lore.Server.Security;

/// <summary>
/// Authenticates <c>Authorization: Bearer lore_{id}_{secret}</c> (what OpenAI clients send as their API key) or
/// <c>X-Api-Key</c> (or the dashboard's cookie) against the hashed keys in the store. The secret is never logged; only the key id is.
/// </summary>
internal sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TenantRuntimes runtimes,
    ApiKeyCache keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "LoreApiKey";
    public const string Prefix = "lore_";

    /// <summary>The dashboard's sign-in cookie (HttpOnly, SameSite=Strict); it holds the same key a client would send.</summary>
    public const string CookieName = "lore_key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = Presented();
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        if (!TryParse(presented, out var keyId, out var secret))
        {
            return AuthenticateResult.Fail("the API key is not a Lore key (expected lore_{id}_{secret}).");
        }

        var key = await keys.GetAsync(runtimes.Store, keyId, Context.RequestAborted).ConfigureAwait(false);
        if (key is null || key.RevokedAt is not null)
        {
            return AuthenticateResult.Fail("unknown or revoked API key.");
        }

        // A busy agent presents the same key on every call: the caller verified with this key record is kept with it
        // (re-read after KeyCacheDuration or a revocation here), so the hash is computed once. The principal is made
        // per request all the same: a host's claims transformation (MapLore in the user's app) may change it in place.
        var caller = keys.Verified(key, secret);
        if (caller is null)
        {
            if (!key.Matches(secret))
            {
                return AuthenticateResult.Fail("unknown or revoked API key.");
            }

            caller = keys.Remember(key, secret, new Caller(key.Id, key.Tenant, key.Role, key.TrustUnits));
        }

        return AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(SchemeName), SchemeName));
    }

    /// <summary>401 as problem+json, saying whether no key was sent or the key sent is not valid (never echoing it).</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        Response.Headers.WWWAuthenticate = "Bearer realm=\"lore\"";
        var detail = result.Failure is { } failure
            ? $"The API key was refused: {failure.Message}"
            : "An API key is required: send 'Authorization: Bearer lore_{id}_{secret}' or 'X-Api-Key' (create one with 'lore keys create').";
        await Proxy.RequestProblem.WriteAsync(Context, StatusCodes.Status401Unauthorized, "Unauthorized", detail).ConfigureAwait(false);
    }

    /// <summary>403 as problem+json naming the role the endpoint needs and the role the key has.</summary>
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var needed = Context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>()
            .Select(a => a.Policy)
            .Select(p => p switch { LorePolicies.Admin => "admin", LorePolicies.Reviewer => "reviewer", LorePolicies.Agent => "agent", _ => null })
            .LastOrDefault(p => p is not null);
        var role = Context.User.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value ?? "none";
        var detail = needed is null
            ? $"This API key (role {role}) may not do this."
            : $"This needs the {needed} role; this API key has the {role} role.";
        return Proxy.RequestProblem.WriteAsync(Context, StatusCodes.Status403Forbidden, "Forbidden", detail);
    }

    private string? Presented()
    {
        var headers = Request.Headers;
        if (headers.TryGetValue("X-Api-Key", out var apiKey) && !string.IsNullOrWhiteSpace(apiKey))
        {
            return apiKey.ToString().Trim();
        }

        var authorization = headers.Authorization.ToString();
        const string bearer = "Bearer ";
        if (authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase))
        {
            return authorization[bearer.Length..].Trim();
        }

        // The dashboard signs in once and keeps the key in an HttpOnly, SameSite=Strict cookie.
        return Request.Cookies.TryGetValue(CookieName, out var cookie) && !string.IsNullOrWhiteSpace(cookie) ? cookie.Trim() : null;
    }

    /// <summary>Splits <c>lore_{id}_{secret}</c>; the id has no underscore.</summary>
    public static bool TryParse(string presented, out string keyId, out string secret)
    {
        keyId = secret = "";
        if (!presented.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = presented.AsSpan(Prefix.Length);
        var separator = rest.IndexOf('_');
        if (separator <= 0 || separator == rest.Length - 1)
        {
            return false;
        }

        keyId = rest[..separator].ToString();
        secret = rest[(separator + 1)..].ToString();
        return true;
    }

    /// <summary>A new key: the record to store (hash only) and the one-time secret string to hand to the user.</summary>
    public static (ApiKey Key, string Presented) Issue(string tenant, ApiKeyRole role, string name, string createdBy, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        var id = "k" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var key = new ApiKey
        {
            Id = id,
            Tenant = tenant,
            Role = role,
            Name = name,
            SecretHash = ApiKey.HashSecret(secret),
            CreatedAt = now,
            CreatedBy = createdBy,
        };
        return (key, $"{Prefix}{id}_{secret}");
    }

    private static string Base64Url(byte[] bytes)
        => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
