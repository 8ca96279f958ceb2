using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Lore;

/// <summary>
/// How stages write to the audit log and how people find what it says about something. Details are an object
/// serialised with <see cref="LoreJson"/> (ids, rule names, effect sizes: links to evidence, never deleted content),
/// and the time comes from the stage's own clock so that tests and replays record reproducible times.
/// </summary>
public sealed class AuditTrail
{
    private readonly ILoreStore _store;
    private readonly TimeProvider _time;

    /// <summary>An audit trail over <paramref name="store"/>, stamping entries with <paramref name="timeProvider"/> (the system clock when null).</summary>
    public AuditTrail(ILoreStore store, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// Appends one entry. <paramref name="details"/> must serialise to a JSON object (an anonymous object, a record, a
    /// dictionary); null records <c>{}</c>.
    /// </summary>
    /// <param name="tenant">Whose state changed.</param>
    /// <param name="actor">Who changed it: "cli:alice", "learning", "rollout-monitor".</param>
    /// <param name="action">What happened, one of <see cref="AuditActions"/>.</param>
    /// <param name="subject">What it happened to: a lesson id, a snapshot id, "12 episodes".</param>
    /// <param name="reason">Why, in a sentence.</param>
    /// <param name="details">Links to the evidence.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public Task<AuditEntry> RecordAsync(string tenant, string actor, string action, string subject, string reason, object? details = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(action);
        ArgumentException.ThrowIfNullOrWhiteSpace(subject);
        ArgumentNullException.ThrowIfNull(reason);
        var draft = new AuditDraft
        {
            Tenant = tenant,
            Actor = actor,
            Action = action,
            Subject = subject,
            Reason = reason,
            DetailsJson = DetailsJson(details),
            At = _time.GetUtcNow(),
        };
        return _store.AppendAuditAsync(draft, cancellationToken);
    }

    /// <summary>The <see cref="AuditDraft.DetailsJson"/> of an object; throws naming the type when it is not a JSON object.</summary>
    public static string DetailsJson(object? details)
    {
        if (details is null)
        {
            return "{}";
        }

        if (details is string)
        {
            throw new ArgumentException("Audit details must be an object (for example new { lessonId, rule }), not a string: a string would be stored as a JSON string, not as linked fields.", nameof(details));
        }

        var element = JsonSerializer.SerializeToElement(details, details.GetType(), LoreJson.Options);
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"Audit details of type {details.GetType().Name} serialise to a JSON {element.ValueKind.ToString().ToLowerInvariant()}, not an object; wrap them in an object with named fields.", nameof(details));
        }

        return element.GetRawText();
    }

    /// <summary>Entries of the log (optionally of one tenant) that are about <paramref name="id"/> (see <see cref="Mentions"/>), in order.</summary>
    public static async IAsyncEnumerable<AuditEntry> MentioningAsync(ILoreStore store, string id, string? tenant = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        await foreach (var entry in store.ReadAuditAsync(0, cancellationToken).ConfigureAwait(false))
        {
            if ((tenant is null || entry.Tenant == tenant) && Mentions(entry, id))
            {
                yield return entry;
            }
        }
    }

    /// <summary>
    /// True when the entry is about <paramref name="id"/>: its subject is the id, its reason names it, or one of the
    /// string values of its details (at any depth, in arrays too) is the id.
    /// </summary>
    public static bool Mentions(AuditEntry entry, string id)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        if (entry.Subject == id || entry.Reason.Contains(id, StringComparison.Ordinal))
        {
            return true;
        }

        if (!entry.DetailsJson.Contains(id, StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(entry.DetailsJson);
            return HasValue(document.RootElement, id);
        }
        catch (JsonException)
        {
            // A tampered record may not even be JSON; verification reports it, listings should not fail on it.
            return false;
        }
    }

    private static bool HasValue(JsonElement element, string id) => element.ValueKind switch
    {
        JsonValueKind.String => element.ValueEquals(id),
        JsonValueKind.Array => element.EnumerateArray().Any(e => HasValue(e, id)),
        JsonValueKind.Object => element.EnumerateObject().Any(p => HasValue(p.Value, id)),
        _ => false,
    };
}
