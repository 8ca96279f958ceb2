using System.Globalization;
using System.Runtime.CompilerServices;

namespace Lore.Server.Dashboard;

/// <summary>
/// A short token that changes whenever what a tenant's pages show may have changed: episodes stored, the tenant's
/// latest audit record, the rollout's version. Pages carry it; their script polls <c>/dashboard/live</c> and reloads
/// when it differs, which is how the dashboard fills while a demo runs. The audit log is read incrementally.
/// </summary>
internal sealed class LiveVersion
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, long> _lastAuditOfTenant = new(StringComparer.Ordinal);
    private long _readThrough;

    public static Task<string> ComputeAsync(ILoreStore store, string tenant, CancellationToken cancellationToken)
        => Shared(store).ForTenantAsync(store, tenant, cancellationToken);

    public async Task<string> ForTenantAsync(ILoreStore store, string tenant, CancellationToken cancellationToken)
    {
        var episodes = await store.CountEpisodesAsync(tenant, cancellationToken).ConfigureAwait(false);
        var rollout = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
        long audit;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await foreach (var entry in store.ReadAuditAsync(_readThrough, cancellationToken).ConfigureAwait(false))
            {
                _readThrough = entry.Sequence;
                _lastAuditOfTenant[entry.Tenant] = entry.Sequence;
            }

            audit = _lastAuditOfTenant.GetValueOrDefault(tenant);
        }
        finally
        {
            _gate.Release();
        }

        return string.Create(CultureInfo.InvariantCulture, $"{episodes}-{audit}-{rollout.Version}");
    }

    // One tracker per store: a process may serve several stores (tests do), and each log is read once from its start.
    private static readonly ConditionalWeakTable<ILoreStore, LiveVersion> Trackers = new();

    private static LiveVersion Shared(ILoreStore store) => Trackers.GetValue(store, _ => new LiveVersion());
}
