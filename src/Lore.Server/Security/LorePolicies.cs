using Microsoft.AspNetCore.Authorization;

namespace Lore.Server.Security;

/// <summary>
/// The three authorization policies endpoints require. Roles are ordered (agent &lt; reviewer &lt; admin), so a policy
/// admits its role and every role above it. Public so an app hosting Lore can guard its own endpoints with Lore's roles,
/// and so the <c>lore</c> tool names roles exactly as the server does.
/// </summary>
public static class LorePolicies
{
    /// <summary>The policy any valid key satisfies (agent, reviewer or admin): capture, retrieval, outcomes.</summary>
    public const string Agent = "lore-agent";

    /// <summary>The policy for reviewing and rolling out learned lessons (reviewer or admin).</summary>
    public const string Reviewer = "lore-reviewer";

    /// <summary>The policy for keys, tenants and other administration (admin only).</summary>
    public const string Admin = "lore-admin";

    /// <summary>The role's name as keys, listings and the CLI spell it: "agent", "reviewer" or "admin".</summary>
    public static string RoleName(ApiKeyRole role) => role switch
    {
        ApiKeyRole.Agent => "agent",
        ApiKeyRole.Reviewer => "reviewer",
        ApiKeyRole.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "unknown role"),
    };

    /// <summary>Parses "agent", "reviewer" or "admin" (any case); anything else throws naming the value.</summary>
    public static ApiKeyRole ParseRole(string value) => value.Trim().ToLowerInvariant() switch
    {
        "agent" => ApiKeyRole.Agent,
        "reviewer" => ApiKeyRole.Reviewer,
        "admin" => ApiKeyRole.Admin,
        _ => throw new FormatException($"unknown role '{value}': use agent, reviewer or admin."),
    };

    internal static void Add(AuthorizationOptions options)
    {
        options.AddPolicy(Agent, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName).RequireRole("agent", "reviewer", "admin"));
        options.AddPolicy(Reviewer, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName).RequireRole("reviewer", "admin"));
        options.AddPolicy(Admin, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName).RequireRole("admin"));
    }
}
