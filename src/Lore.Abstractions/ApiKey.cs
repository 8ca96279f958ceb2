using System.Security.Cryptography;
using System.Text;

namespace Lore;

/// <summary>What a caller of <c>lore serve</c> may do. Each role includes the ones before it.</summary>
public enum ApiKeyRole
{
    /// <summary>Record episodes, steps and outcomes; retrieve lessons; read its tenant's lessons and snapshots.</summary>
    Agent,

    /// <summary>Everything an agent may do, plus approve and reject lessons in the review queue.</summary>
    Reviewer,

    /// <summary>Everything, plus promote, roll back, freeze, change configuration and manage keys of its tenant.</summary>
    Admin,
}

/// <summary>
/// A stored API key: only the SHA-256 of its secret is kept, so a copy of the store cannot be used to call Lore.
/// The key a caller presents is <c>lore_{Id}_{secret}</c>; <see cref="Id"/> finds the record, the hash checks the secret.
/// </summary>
public sealed record ApiKey
{
    /// <summary>Public, unique, safe to log and show (for example <c>k7f3a9c21</c>).</summary>
    public required string Id { get; init; }

    /// <summary>The tenant the key acts for: every request it authenticates is confined to this tenant's data.</summary>
    public required string Tenant { get; init; }

    /// <summary>What the key may do (agent, reviewer or admin); roles are ordered, each admitting what the ones below it may.</summary>
    public required ApiKeyRole Role { get; init; }

    /// <summary>What the key is for ("checkout agent", "alice").</summary>
    public string Name { get; init; } = "";

    /// <summary>SHA-256 of the secret part, lower-case hex.</summary>
    public required string SecretHash { get; init; }

    /// <summary>When the key was issued, for audits and for spotting keys that should have been rotated.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Who issued the key (a person or the host that created it), so a stray key can be traced to its owner.</summary>
    public string CreatedBy { get; init; } = "";

    /// <summary>Set when revoked; a revoked key never authenticates again.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>
    /// Whether an admin trusts this key to name units: an agent backend that authenticates its own end users may, so
    /// each unit it names counts as its own evidence source; any other key counts as one source whatever units it
    /// names (see <see cref="EpisodeSources"/>). Off for new keys.
    /// </summary>
    public bool TrustUnits { get; init; }

    /// <summary>
    /// Whether the units this key names count as sources of their own: when an admin trusts it to, or when its role can
    /// already approve lessons (a reviewer or admin could serve any lesson through the review queue, so trusting its
    /// units gives it no power it lacks).
    /// </summary>
    public bool AssertsUnits => EpisodeSources.AssertsUnits(Role, TrustUnits);

    /// <summary>The <see cref="Episode.Source"/> of an episode this key sends for <paramref name="unitKey"/>.</summary>
    public string SourceFor(string? unitKey) => EpisodeSources.OfKey(Id, AssertsUnits, unitKey);

    /// <summary>The hash stored for a secret.</summary>
    public static string HashSecret(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
    }

    /// <summary>Whether <paramref name="secret"/> is this key's secret, compared in constant time.</summary>
    public bool Matches(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        var stored = Convert.FromHexString(SecretHash);
        return CryptographicOperations.FixedTimeEquals(presented, stored);
    }
}

/// <summary>
/// The rule that turns an API key and the unit a client names into the <see cref="Episode.Source"/> that learning
/// counts: one source per key unless an admin trusts the key to assert units, so a client cannot multiply its
/// evidence by inventing unit names. Episodes a host captures itself (and operator ingest) carry no source.
/// </summary>
public static class EpisodeSources
{
    /// <summary>
    /// Whether a key's unit names count as sources: an agent key only when an admin trusts it; a reviewer or admin key
    /// always, since it can already approve any lesson.
    /// </summary>
    public static bool AssertsUnits(ApiKeyRole role, bool trustUnits) => trustUnits || role >= ApiKeyRole.Reviewer;

    /// <summary>
    /// <c>key:ID/unit:UNIT</c> for a key trusted to assert units that names one; <c>key:ID</c> otherwise (an
    /// untrusted key, or a trusted key naming no unit: its unit-less calls share one source).
    /// </summary>
    public static string OfKey(string keyId, bool trustUnits, string? unitKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(keyId);
        var unit = unitKey?.Trim() ?? "";
        return trustUnits && unit.Length > 0 ? $"key:{keyId}/unit:{unit}" : $"key:{keyId}";
    }
}
