using Lore.Sqlite;

namespace Lore.Simulation;

/// <summary>
/// Replays a fixed set of simulated tickets with a given snapshot served, on a throwaway store so the replay never
/// touches the production store, its episodes or its rollout. Used by <c>lore eval</c> and by the offline gate.
/// </summary>
public sealed class SimulatedEvaluationRunner : IOfflineEvaluationRunner
{
    private readonly int _seed;
    private readonly int _tasks;
    private readonly WorkplaceRules _rules;
    private readonly SimulatedAgentProfile _agent;

    /// <param name="seed">Seed of the ticket set; keep it apart from the training seed so the set is held out.</param>
    /// <param name="tasks">How many tickets to replay.</param>
    /// <param name="rules">The rules of the workplace during the replay (the current ones, to judge staleness).</param>
    /// <param name="agent">The simulated agent's mistake rates (the default profile when null).</param>
    public SimulatedEvaluationRunner(int seed = 1042, int tasks = 400, WorkplaceRules? rules = null, SimulatedAgentProfile? agent = null)
    {
        if (tasks < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(tasks), tasks, "An evaluation needs at least one task.");
        }

        _seed = seed;
        _tasks = tasks;
        _rules = rules ?? WorkplaceRules.Default;
        _agent = agent ?? SimulatedAgentProfile.Default;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OfflineTaskResult>> RunAsync(Snapshot? snapshot, CancellationToken cancellationToken = default)
    {
        var directory = Path.Combine(Path.GetTempPath(), "lore-eval", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(directory);
        try
        {
            var store = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "replay.db"), new SqliteStoreOptions { FlushEveryCommit = false }, cancellationToken).ConfigureAwait(false);
            var tenant = snapshot?.Tenant ?? Tenants.Default;
            if (snapshot is not null)
            {
                await store.SaveSnapshotAsync(snapshot, cancellationToken).ConfigureAwait(false);
                await store.SetActiveSnapshotAsync(tenant, snapshot.Id, cancellationToken).ConfigureAwait(false);
            }

            var options = new LoreOptions { Store = store, Tenant = tenant };
            await using var runtime = await LoreRuntime.OpenAsync(options, cancellationToken).ConfigureAwait(false);
            var simulation = new WorkplaceSimulation(new SimulationOptions { Seed = _seed, Episodes = _tasks, LearnEvery = 0, Rules = _rules, Agent = _agent });
            var report = await simulation.RunAsync(runtime, progress: null, cancellationToken).ConfigureAwait(false);
            await runtime.FlushAsync(cancellationToken).ConfigureAwait(false);
            var modes = new Dictionary<string, string?>(StringComparer.Ordinal);
            await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery { Tenant = tenant }, cancellationToken).ConfigureAwait(false))
            {
                modes[episode.Id] = FailureModes.Of(episode);
            }

            return report.Episodes.Select(e => new OfflineTaskResult(e.TicketId, e.Slice, e.Success ? 1 : 0) { FailureMode = e.Success ? null : modes.GetValueOrDefault(e.EpisodeId) }).ToArray();
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
