namespace Lore.Simulation;

/// <summary>
/// Follows the audit log during a simulation and places each control-plane change after the episode that preceded
/// it, so a report can tell the story (created, canary, rolled back, quarantined) in episode time.
/// </summary>
internal sealed class ControlEventLog(LoreRuntime runtime)
{
    private readonly List<ControlEvent> _events = [];
    private long _after;

    public IReadOnlyList<ControlEvent> Events => _events;

    /// <summary>Starts after the current head, so earlier history of the store is not retold.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await foreach (var entry in runtime.Store.ReadAuditAsync(0, cancellationToken).ConfigureAwait(false))
        {
            _after = entry.Sequence;
        }
    }

    public async Task CollectAsync(int afterEpisode, CancellationToken cancellationToken)
    {
        await foreach (var entry in runtime.Store.ReadAuditAsync(_after, cancellationToken).ConfigureAwait(false))
        {
            _after = entry.Sequence;
            if (entry.Tenant == runtime.Tenant)
            {
                _events.Add(new ControlEvent(afterEpisode, entry.Action, entry.Subject, entry.Actor, entry.Reason));
            }
        }
    }
}
