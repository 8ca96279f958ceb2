using Lore.Sqlite;
using Lore.Testing;
using Xunit;

namespace Lore.Tests.Audit;

public sealed class AuditTrailTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Recording_chains_an_entry_with_the_stage_clock_and_details_as_a_json_object()
    {
        await using var store = await SqliteLoreStore.OpenAsync(_directory.File("lore.db"), Ct);
        var at = new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var trail = new AuditTrail(store, new FixedClock(at));

        var first = await trail.RecordAsync("acme", "learning", AuditActions.LessonAdmitted, "les-1", "enough evidence", new { lesson = "les-1", episodes = new[] { "ep-1", "ep-2" }, lift = 2.5 }, Ct);
        var second = await trail.RecordAsync("acme", "cli:alice", AuditActions.Frozen, "acme", "incident 7", cancellationToken: Ct);

        Assert.Equal(1, first.Sequence);
        Assert.Equal(at, first.At);
        Assert.Equal("""{"lesson":"les-1","episodes":["ep-1","ep-2"],"lift":2.5}""", first.DetailsJson);
        Assert.Equal("{}", second.DetailsJson);
        Assert.Equal(first.Hash, second.PreviousHash);
        Assert.True((await AuditVerifier.VerifyAsync(store, cancellationToken: Ct)).IsIntact);
    }

    [Fact]
    public void Details_that_are_not_an_object_are_refused_naming_the_type()
    {
        Assert.Contains("not a string", Assert.Throws<ArgumentException>(() => AuditTrail.DetailsJson("{\"a\":1}")).Message);
        Assert.Contains("Int32[]", Assert.Throws<ArgumentException>(() => AuditTrail.DetailsJson(new[] { 1, 2 })).Message);
        Assert.Equal("""{"a":1}""", AuditTrail.DetailsJson(new Dictionary<string, int> { ["a"] = 1 }));
    }

    [Fact]
    public void An_entry_mentions_an_id_in_its_subject_reason_or_any_details_value_but_not_in_a_longer_value()
    {
        var entry = new AuditEntry
        {
            Sequence = 1,
            At = DateTimeOffset.UnixEpoch,
            Tenant = Tenants.Default,
            Actor = "rollout-monitor",
            Action = AuditActions.SnapshotRolledBack,
            Subject = "snap-1",
            Reason = "slice refunds regressed under snap-1",
            DetailsJson = """{"regressions":[{"slice":"refunds","lessons":["les-a","les-b"]}],"note":"les-c2"}""",
            PreviousHash = AuditChain.Genesis,
            Hash = "",
        };

        Assert.True(AuditTrail.Mentions(entry, "snap-1"));
        Assert.True(AuditTrail.Mentions(entry, "les-b"));
        Assert.False(AuditTrail.Mentions(entry, "les-c"));
        Assert.False(AuditTrail.Mentions(entry with { DetailsJson = "{not json les-a" }, "les-a"));
    }
}
