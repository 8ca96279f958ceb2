using System.Diagnostics;
using Lore.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Lore.Sqlite.Tests;

/// <summary>
/// Acknowledged means durable: a child process appends episodes and reports each acknowledged batch; the test kills
/// it (SIGKILL, no disposal, no checkpoint) in the middle of writing and then checks, in a fresh process state, that
/// every acknowledged episode is there whole and that no batch is there in part. This exercises commit-before-ack
/// and WAL recovery; surviving a power loss additionally relies on <c>synchronous=FULL</c>, which
/// <see cref="SqliteStoreTests"/> checks is in force.
/// </summary>
public sealed class CrashDurabilityTests : IDisposable
{
    private const int AcksBeforeKill = 40;
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Data_acknowledged_by_AppendAsync_survives_the_process_being_killed()
    {
        var path = _directory.File("crash.db");
        var acknowledged = new List<string>();
        using (var child = Process.Start(ChildStartInfo(path))!)
        {
            try
            {
                var first = await child.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken);
                if (first != CrashWriter.Ready)
                {
                    Assert.Fail($"The writer did not start ({first}): {await child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken)}");
                }

                while (acknowledged.Count < AcksBeforeKill)
                {
                    var line = await child.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken);
                    if (line is null)
                    {
                        Assert.Fail($"The writer stopped early: {await child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken)}");
                    }

                    acknowledged.Add(line[CrashWriter.AckPrefix.Length..]);
                }
            }
            finally
            {
                child.Kill(entireProcessTree: true);
                await child.WaitForExitAsync(TestContext.Current.CancellationToken);
            }

            // Acknowledgements already in the pipe when the process died count too.
            while (await child.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken) is { } line)
            {
                if (line.StartsWith(CrashWriter.AckPrefix, StringComparison.Ordinal))
                {
                    acknowledged.Add(line[CrashWriter.AckPrefix.Length..]);
                }
            }
        }

        Assert.True(new FileInfo(path + "-wal").Length > 0, "The killed writer should have left its WAL behind un-checkpointed; otherwise this test did not test recovery.");

        await using var store = await SqliteLoreStore.OpenAsync(path, TestContext.Current.CancellationToken);
        var stored = new List<Episode>();
        await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery(), TestContext.Current.CancellationToken))
        {
            stored.Add(episode);
        }

        var storedIds = stored.Select(e => e.Id).ToHashSet();
        Assert.All(acknowledged, id => Assert.Contains(id, storedIds));
        Assert.InRange(stored.Count, acknowledged.Count, acknowledged.Count + 1); // at most the batch committed as it died
        Assert.All(stored, episode =>
        {
            Assert.Equal(CrashWriter.StepsPerEpisode, episode.Steps.Count);
            Assert.Single(episode.Outcomes);
            Assert.NotNull(episode.EndedAt);
        });
        using var check = new SqliteConnection($"Data Source={path};Mode=ReadOnly");
        check.Open();
        using var integrity = check.CreateCommand();
        integrity.CommandText = "PRAGMA integrity_check;";
        Assert.Equal("ok", integrity.ExecuteScalar());
    }

    private static ProcessStartInfo ChildStartInfo(string path)
    {
        var assembly = typeof(CrashWriter).Assembly.Location;
        var appHost = Path.ChangeExtension(assembly, OperatingSystem.IsWindows() ? ".exe" : null);
        var info = File.Exists(appHost)
            ? new ProcessStartInfo(appHost)
            : new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { ArgumentList = { "exec", assembly } };
        info.ArgumentList.Add(CrashWriter.Flag);
        info.ArgumentList.Add(path);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        return info;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
