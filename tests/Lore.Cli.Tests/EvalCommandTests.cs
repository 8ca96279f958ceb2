using Lore.Testing;

namespace Lore.Cli.Tests;

public sealed class EvalCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Eval_reports_per_slice_deltas_and_exits_3_when_a_slice_regresses()
    {
        var store = _dir.File("lore.db");
        var demo = await CliRunner.RunAsync("demo", "--store", store, "--episodes", "100", "--json");
        Assert.True(demo.ExitCode == 0, demo.Error);
        var learned = (await CliRunner.RunAsync("snapshots", "list", "--store", store, "--json")).Out;
        var active = System.Text.Json.JsonSerializer.Deserialize<List<SnapshotSummary>>(learned, LoreJson.Options)!.Single(s => s.IsActive).Id;

        var pass = await CliRunner.RunAsync("eval", "--store", store, "--baseline", "none", "--candidate", active, "--tasks", "120");
        Assert.True(pass.ExitCode == 0, pass.Error + pass.Out);
        Assert.Contains("(overall)", pass.Out);
        Assert.Contains("PASS", pass.Out);

        var fail = await CliRunner.RunAsync("eval", "--store", store, "--baseline", "none", "--candidate", active, "--tasks", "120", "--rules", "tax-separate");
        Assert.Equal(3, fail.ExitCode);
        Assert.Contains("FAIL", fail.Out);
        Assert.Contains("payments", fail.Out);
    }

    [Fact]
    public async Task Eval_names_an_unknown_snapshot()
    {
        var store = _dir.File("lore.db");
        Assert.Equal(0, (await CliRunner.RunAsync("demo", "--store", store, "--episodes", "10", "--json")).ExitCode);

        var result = await CliRunner.RunAsync("eval", "--store", store, "--candidate", "snap-nope");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--candidate 'snap-nope' is not a snapshot", result.Error);
    }
}
