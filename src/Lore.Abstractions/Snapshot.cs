using System.Security.Cryptography;
using System.Text.Json;

namespace Lore;

/// <summary>
/// How lessons are picked and injected for a model call. It travels inside the snapshot, so changing a budget or
/// a threshold is a versioned, reversible change like any lesson.
/// </summary>
public sealed record RetrievalSettings
{
    /// <summary>At most this many lessons per model call.</summary>
    public int TopK { get; init; } = 5;

    /// <summary>Lessons scoring below this (hybrid score in [0, 1]) are not injected.</summary>
    public double MinScore { get; init; } = 0.12;

    /// <summary>Upper bound on the tokens the injected section may add (cl100k tokens).</summary>
    public int TokenBudget { get; init; } = 400;

    /// <summary>Weight of the lexical (BM25) score; the vector score gets 1 minus this.</summary>
    public double LexicalWeight { get; init; } = 0.5;

    /// <summary>First line of the injected system section; the section ends with a matching closing line.</summary>
    public string SectionTitle { get; init; } = "Lessons learned from earlier episodes (apply when relevant)";

    /// <summary>Throws naming the first setting that is out of range.</summary>
    public RetrievalSettings Validate()
    {
        if (TopK is < 1 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be between 1 and 100.");
        }

        if (double.IsNaN(MinScore) || MinScore < 0 || MinScore > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MinScore), MinScore, "MinScore must lie in [0, 1].");
        }

        if (TokenBudget is < 1 or > 100_000)
        {
            throw new ArgumentOutOfRangeException(nameof(TokenBudget), TokenBudget, "TokenBudget must be between 1 and 100000.");
        }

        if (double.IsNaN(LexicalWeight) || LexicalWeight < 0 || LexicalWeight > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(LexicalWeight), LexicalWeight, "LexicalWeight must lie in [0, 1].");
        }

        return this;
    }
}

/// <summary>
/// A stored snapshot whose content no longer hashes to its id (an edit of the store, a corrupt file): it is refused
/// for serving, so an agent is never given lessons nobody learned or approved.
/// </summary>
public sealed class SnapshotIntegrityException(string snapshotId, string? storedContentAddress, string message) : Exception(message)
{
    /// <summary>The id (content address) the snapshot claims.</summary>
    public string SnapshotId { get; } = snapshotId;

    /// <summary>What its stored content actually hashes to ("unreadable" when it is not a snapshot's JSON).</summary>
    public string? StoredContentAddress { get; } = storedContentAddress;
}

/// <summary>
/// An immutable, content-addressed version of the learned state: the lessons served and how they are served.
/// Serving reads only snapshots, so rollback is a pointer swap and any outcome can be traced to exact content.
/// </summary>
public sealed record Snapshot
{
    /// <summary>"snap-" followed by the first 16 hex digits of the SHA-256 of the canonical content.</summary>
    public required string Id { get; init; }

    /// <summary>The snapshot this one was derived from, so lineage and diffs can be followed back.</summary>
    public string? ParentId { get; init; }

    /// <summary>The tenant the snapshot serves; part of its content, so two tenants' identical lessons still make distinct snapshots.</summary>
    public string Tenant { get; init; } = Tenants.Default;

    /// <summary>The lessons served, ordered by id.</summary>
    public required IReadOnlyList<Lesson> Lessons { get; init; }

    /// <summary>How retrieval uses the snapshot (budgets, thresholds), versioned with the lessons so a rollback restores both.</summary>
    public RetrievalSettings Settings { get; init; } = new();

    /// <summary>Who made it (a learning run, a person, an import).</summary>
    public string CreatedBy { get; init; } = "";

    /// <summary>Why it was made, for the audit and the rollout screen.</summary>
    public string Reason { get; init; } = "";

    /// <summary>When it was made.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Builds a snapshot whose id is derived from its parent, tenant, lessons and settings.</summary>
    public static Snapshot Create(string? parentId, string tenant, IEnumerable<Lesson> lessons, RetrievalSettings settings, string createdBy, string reason, DateTimeOffset createdAt)
    {
        var ordered = lessons.Where(l => !l.IsRetired).OrderBy(l => l.Id, StringComparer.Ordinal).ToArray();
        var dupe = ordered.Zip(ordered.Skip(1)).FirstOrDefault(p => p.First.Id == p.Second.Id);
        if (dupe.First is not null)
        {
            throw new ArgumentException($"Lesson id '{dupe.First.Id}' appears twice in one snapshot.", nameof(lessons));
        }

        settings.Validate();
        return new Snapshot
        {
            Id = ComputeId(parentId, tenant, ordered, settings),
            ParentId = parentId,
            Tenant = tenant,
            Lessons = ordered,
            Settings = settings,
            CreatedBy = createdBy,
            Reason = reason,
            CreatedAt = createdAt,
        };
    }

    /// <summary>Recomputes the content address, so a stored snapshot can be checked against its id.</summary>
    public static string ComputeId(string? parentId, string tenant, IReadOnlyList<Lesson> orderedLessons, RetrievalSettings settings)
    {
        var content = new { parent = parentId, tenant, settings, lessons = orderedLessons };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(content, LoreJson.Options);
        return "snap-" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
    }

    /// <summary>
    /// The address the snapshot's content hashes to as it was stored, computed by the store that read it from the
    /// stored bytes (<see cref="AddressOfStoredJson"/>); null for a snapshot built in memory. It is computed from the
    /// stored text rather than from the record, so a field added to lessons by a later version of Lore does not make
    /// an old snapshot look tampered with.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? StoredContentAddress { get; init; }

    /// <summary>True when the id matches the content (the content as stored, for a snapshot read from a store).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsIntact => (StoredContentAddress ?? ComputeId(ParentId, Tenant, Lessons, Settings)) == Id;

    /// <summary>
    /// The content address of a snapshot's stored JSON (as <see cref="LoreJson.Options"/> wrote it): the hash of its
    /// parent, tenant, settings and lessons exactly as they appear in the text, so nothing is re-serialised.
    /// </summary>
    /// <exception cref="System.Text.Json.JsonException">The text is not a snapshot's JSON object.</exception>
    public static string AddressOfStoredJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("A stored snapshot must be a JSON object.");
        }

        string Raw(string name) => root.TryGetProperty(name, out var value)
            ? value.GetRawText()
            : throw new JsonException($"A stored snapshot has no '{name}' property.");

        var parent = root.TryGetProperty("parentId", out var p) ? p.GetRawText() : "null";
        var canonical = $"{{\"parent\":{parent},\"tenant\":{Raw("tenant")},\"settings\":{Raw("settings")},\"lessons\":{Raw("lessons")}}}";
        return "snap-" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical)))[..16];
    }
}
