using Lore.Sqlite;

namespace Lore.Learning.Tests;

/// <summary>
/// The shared tau-bench sample, imported once into a SQLite store and read back, as the learners see it in production.
/// The counts the tests expect come from Derivations/tau_bench_expected.py, an independent pass over the raw file.
/// </summary>
internal static class TauBenchSample
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static IReadOnlyList<Episode>? _episodes;

    /// <summary>The 40 episodes (oldest first), or skips the test when ../shared is absent.</summary>
    public static async Task<IReadOnlyList<Episode>> EpisodesAsync()
    {
        var path = SharedData.TauBenchOrSkip();
        await Gate.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (_episodes is null)
            {
                using var directory = new TempDirectory();
                await using var store = SqliteLoreStore.Open(directory.File("tau.db"));
                await TrajectoryImporter.ImportFileAsync(path, store, cancellationToken: TestContext.Current.CancellationToken);
                var episodes = new List<Episode>();
                await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery { EndedOnly = true }, TestContext.Current.CancellationToken))
                {
                    episodes.Add(episode);
                }

                _episodes = episodes;
            }

            return _episodes;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The episode of a tau-bench task and trial.</summary>
    public static Episode Find(IReadOnlyList<Episode> episodes, int task, int trial)
        => episodes.Single(e => e.Labels["task_id"] == task.ToString(System.Globalization.CultureInfo.InvariantCulture) && e.Labels["trial"] == trial.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
