using Lore.Simulation;
using Lore.Sqlite;
using Lore.Testing;
using Xunit;

[assembly: AssemblyFixture(typeof(Lore.Dashboard.Tests.Support.DriftStore))]

namespace Lore.Dashboard.Tests.Support;

/// <summary>
/// The drift scenario run once for the whole test run (learning, a canary, the rule change and the automatic
/// rollback, the quarantined poisoning attempt, a later promotion, a lesson waiting for review), left in a SQLite
/// file that every test copies, so that tests which click buttons never see each other's changes.
/// </summary>
public sealed class DriftStore : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();

    public string TemplatePath => _directory.File("drift.db");

    public SimulationReport Report { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var store = await SqliteLoreStore.OpenAsync(TemplatePath, CancellationToken.None);
        var clock = new SteppingClock(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero), perEpisode: TimeSpan.FromSeconds(4));
        var options = new LoreOptions { Store = store, TimeProvider = clock };
        DriftScenario.ConfigureWithReview(options);
        await using var runtime = await LoreRuntime.OpenAsync(options, CancellationToken.None);
        Report = await new WorkplaceSimulation(DriftScenario.Simulation(seed: 42)).RunAsync(runtime, progress: clock, CancellationToken.None);
    }

    /// <summary>Copies the store (with its write-ahead log, if any) into <paramref name="directory"/>; returns the copy's path.</summary>
    public string CopyTo(string directory)
    {
        var target = Path.Combine(directory, "lore.db");
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            if (File.Exists(TemplatePath + suffix))
            {
                File.Copy(TemplatePath + suffix, target + suffix, overwrite: true);
            }
        }

        return target;
    }

    public ValueTask DisposeAsync()
    {
        _directory.Dispose();
        return ValueTask.CompletedTask;
    }
}
