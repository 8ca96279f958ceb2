using Microsoft.AspNetCore.Authorization;

namespace Lore.Server.Security;

/// <summary>
/// The three authorization policies endpoints require. Roles are ordered (agent &lt; reviewer &lt; admin), so a policy
/// admits its role and every role above it.
/// </summary>
internal static class LorePolicies
{
    public const string Agent = "lore-agent";
    public const string Reviewer = "lore-reviewer";
    public const string Admin = "lore-admin";

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

    public static void Add(AuthorizationOptions options)
    {
        options.AddPolicy(Agent, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName).RequireRole("agent", "reviewer", "admin"));
        options.AddPolicy(Reviewer, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName).RequireRole("reviewer", "admin"));
        options.AddPolicy(Admin, p => p.AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName).RequireRole("admin"));
    }
}
