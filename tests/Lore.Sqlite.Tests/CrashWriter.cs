using System.Diagnostics;

namespace Lore.Sqlite.Tests;

/// <summary>
/// The child process of the crash test: appends one complete episode per batch, forever (bounded), and after each
/// <see cref="ILoreStore.AppendAsync"/> returns prints "ack ID". It never disposes the store; the test kills it.
/// </summary>
internal static class CrashWriter
{
    public const string Flag = "--crash-writer";
    public const string Ready = "ready";
    public const string AckPrefix = "ack ";
    public const int StepsPerEpisode = 20;
    private const int MaxBatches = 20_000;

    public static Episode EpisodeFor(int i) => new()
    {
        Id = $"crash-{i:D6}",
        UnitKey = $"unit-{i % 7}",
        Task = $"crash test episode {i}",
        StartedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(i),
        Origin = "crash-writer",
    };

    public static List<CaptureRecord> RecordsFor(int i)
    {
        var episode = EpisodeFor(i);
        var records = new List<CaptureRecord> { new EpisodeStarted(episode) };
        for (var s = 0; s < StepsPerEpisode; s++)
        {
            records.Add(new StepRecorded(episode.Id, Step.Tool(s, "tool_" + s, $$"""{"i":{{i}}}""", new string('r', 200), at: episode.StartedAt)));
        }

        records.Add(new OutcomeRecorded(episode.Id, Outcome.Success(at: episode.StartedAt)));
        records.Add(new EpisodeEnded(episode.Id, episode.StartedAt.AddSeconds(1), ["les-crash"]));
        return records;
    }

    public static async Task<int> RunAsync(string path)
    {
        var store = SqliteLoreStore.Open(path); // deliberately never disposed: the process dies holding it
        var stdout = Console.Out;
        await stdout.WriteLineAsync(Ready);
        await stdout.FlushAsync();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < MaxBatches && clock.Elapsed < TimeSpan.FromMinutes(2); i++)
        {
            await store.AppendAsync(RecordsFor(i));
            await stdout.WriteLineAsync(AckPrefix + EpisodeFor(i).Id);
            await stdout.FlushAsync();
        }

        GC.KeepAlive(store);
        return 0;
    }
}
