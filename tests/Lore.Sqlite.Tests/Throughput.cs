using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Lore.Sqlite.Tests;

/// <summary>
/// A quick throughput check of the store's hot paths, run by hand (<c>dotnet run --project tests/Lore.Sqlite.Tests -- --measure DIR</c>),
/// never as a test: figures depend on the machine, so tests assert behaviour and this prints numbers.
/// </summary>
internal static class Throughput
{
    public const string Flag = "--measure";

    private static TimeSpan Cpu => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;

    public static async Task<int> RunAsync(string directory)
    {
        Directory.CreateDirectory(directory);
        const int episodes = 10_000, stepsPerEpisode = 12, batchSize = 512;
        var records = new List<CaptureRecord>();
        for (var i = 0; i < episodes; i++)
        {
            var id = $"ep-{i:D6}";
            var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(i);
            records.Add(new EpisodeStarted(new Episode { Id = id, UnitKey = $"u{i % 50}", Task = $"refund order {i}", StartedAt = start }));
            for (var s = 0; s < stepsPerEpisode; s++)
            {
                records.Add(new StepRecorded(id, s % 3 == 0
                    ? new Step
                    {
                        Index = s, Kind = StepKind.ModelCall, At = start, Model = "gpt-4o",
                        Request = [new TrajectoryMessage { Role = "user", Text = "Please refund order 1142, it arrived broken." }],
                        Response = [new TrajectoryMessage { Role = "assistant", ToolCalls = [new ToolCallRequest("call_1", "find_order", """{"order_id":"1142"}""")] }],
                        Usage = new TokenUsage(320, 40), Latency = TimeSpan.FromMilliseconds(800),
                    }
                    : Step.Tool(s, "find_order", """{"order_id":"1142"}""", """{"status":"delivered","total":120.5,"items":[{"sku":"A1","qty":2}]}""", $"call_{s}", at: start)));
            }

            records.Add(new OutcomeRecorded(id, Outcome.Success(at: start)));
            records.Add(new EpisodeEnded(id, start.AddMinutes(1), ["les-1"]));
        }

        var path = Path.Combine(directory, $"measure-{Guid.NewGuid():n}.db");
        try
        {
            await using var store = await SqliteLoreStore.OpenAsync(path);
            var cpu = Cpu;
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < records.Count; i += batchSize)
            {
                await store.AppendAsync(records.GetRange(i, Math.Min(batchSize, records.Count - i)));
            }

            watch.Stop();
            var steps = episodes * stepsPerEpisode;
            Console.WriteLine($"append: {records.Count:N0} records ({steps:N0} steps) in batches of {batchSize}: {watch.Elapsed.TotalSeconds:F2} s = {steps / watch.Elapsed.TotalSeconds:N0} steps/s, {records.Count / watch.Elapsed.TotalSeconds:N0} records/s (CPU {(Cpu - cpu).TotalSeconds:F2} s)");

            var read = 0;
            for (var round = 1; round <= 3; round++)
            {
                cpu = Cpu;
                watch.Restart();
                read = 0;
                var readSteps = 0;
                await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery()))
                {
                    read++;
                    readSteps += episode.Steps.Count;
                }

                watch.Stop();
                Console.WriteLine($"read (round {round}): {read:N0} episodes with {readSteps:N0} steps in {watch.Elapsed.TotalSeconds:F2} s = {read / watch.Elapsed.TotalSeconds:N0} episodes/s (CPU {(Cpu - cpu).TotalSeconds:F2} s)");
            }

            watch.Restart();
            read = 0;
            await foreach (var _ in store.ReadEpisodesAsync(new EpisodeQuery { WithoutSteps = true }))
            {
                read++;
            }

            watch.Stop();
            Console.WriteLine($"read without steps: {read:N0} episodes in {watch.Elapsed.TotalSeconds:F3} s");

            var payloads = records.OfType<StepRecorded>().Select(r => System.Text.Json.JsonSerializer.Serialize(r.Step, LoreJson.Options)).ToArray();
            watch.Restart();
            foreach (var payload in payloads)
            {
                _ = System.Text.Json.JsonSerializer.Deserialize<Step>(payload, LoreJson.Options);
            }

            watch.Stop();
            Console.WriteLine($"(of which JSON alone: {payloads.Length:N0} steps deserialised in {watch.Elapsed.TotalSeconds:F2} s)");

            var small = Stopwatch.StartNew();
            for (var i = 0; i < 200; i++)
            {
                await store.AppendAsync([new StepRecorded("ep-000000", Step.Tool(100 + i, "ping", "{}", "ok"))]);
            }

            small.Stop();
            Console.WriteLine($"single-record batches (one fsync each): {200 / small.Elapsed.TotalSeconds:N0} batches/s");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(directory, Path.GetFileName(path) + "*"))
            {
                File.Delete(file);
            }
        }

        return 0;
    }
}
