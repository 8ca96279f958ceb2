using System.Text.Json;

namespace Lore.Simulation;

/// <summary>A failure mode that grew under a held-back candidate, as the audit evidence gives it (rates are per episode).</summary>
public sealed record GrownFailureMode(string Mode, string Slice, bool IsNew, double BaselineRate, double CandidateRate, double PValue, int BaselineEpisodes, int CandidateEpisodes);

/// <summary>
/// A candidate the rollout held back (or rolled back) because a failure mode grew, read from the latest
/// <c>snapshot.failure-shift</c> audit entry of the run: the overall success of both arms and the grown modes, so the
/// demo can say in its summary what improved, what failure appeared, where, and on what evidence.
/// </summary>
public sealed record FailureShiftHold(
    int AfterEpisode,
    string CandidateSnapshotId,
    string Reason,
    double BaselineSuccessRate,
    double CandidateSuccessRate,
    int BaselineEpisodes,
    int CandidateEpisodes,
    IReadOnlyList<GrownFailureMode> Grown)
{
    /// <summary>The hold described by the latest failure-shift event of the run, or null when the run had none.</summary>
    internal static async Task<FailureShiftHold?> ReadAsync(ILoreStore store, IReadOnlyList<ControlEvent> events, string tenant, CancellationToken cancellationToken)
    {
        var held = events.LastOrDefault(e => e.Action == AuditActions.FailureShiftDetected);
        if (held is null)
        {
            return null;
        }

        AuditEntry? entry = null;
        await foreach (var candidate in store.ReadAuditAsync(0, cancellationToken).ConfigureAwait(false))
        {
            if (candidate.Tenant == tenant && candidate.Action == AuditActions.FailureShiftDetected && candidate.Subject == held.Subject)
            {
                entry = candidate;
            }
        }

        if (entry is null)
        {
            return null;
        }

        using var details = JsonDocument.Parse(entry.DetailsJson);
        var evidence = details.RootElement.GetProperty("evidence");
        var overall = evidence.GetProperty("overall");
        var grown = evidence.GetProperty("failureShift").GetProperty("grown").EnumerateArray()
            .Select(m => new GrownFailureMode(
                m.GetProperty("mode").GetString()!,
                m.GetProperty("slice").GetString()!,
                m.GetProperty("isNew").GetBoolean(),
                m.GetProperty("baselineRate").GetDouble(),
                m.GetProperty("candidateRate").GetDouble(),
                m.GetProperty("pValue").GetDouble(),
                m.GetProperty("baselineEpisodes").GetInt32(),
                m.GetProperty("candidateEpisodes").GetInt32()))
            .ToArray();
        return new FailureShiftHold(
            held.AfterEpisode,
            entry.Subject,
            entry.Reason,
            overall.GetProperty("baseline").GetProperty("successRate").GetDouble(),
            overall.GetProperty("candidate").GetProperty("successRate").GetDouble(),
            overall.GetProperty("baseline").GetProperty("episodes").GetInt32(),
            overall.GetProperty("candidate").GetProperty("episodes").GetInt32(),
            grown);
    }
}
