using System.Text;
using Lore.Learning;
using Lore.Learning.Authoring;
using Lore.Learning.Bundles;
using Lore.PostgreSql;
using Lore.Sqlite;
using Lore.Testing;
using Xunit;

namespace Lore.PostgreSql.Tests.Bundles;

/// <summary>Learned state moved between engines: a SQLite staging store to a PostgreSQL production store, and back.</summary>
public sealed class CrossEngineBundleTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Dispose();

    private static Lesson Learned(string id, string text) => new()
    {
        Id = id,
        Kind = LessonKind.Guideline,
        Text = text,
        Trigger = LessonTrigger.OnDescription(text),
        Evidence = new LessonEvidence { EpisodeIds = ["ep-1", "ep-2", "ep-3"], EpisodeCount = 3, DistinctSources = 3, DistinctTasks = 3, Support = 3 },
        Extractor = new ExtractorInfo("tool-errors", "1"),
        Confidence = 0.8,
    };

    [Fact]
    public async Task A_snapshot_exported_from_sqlite_imports_into_postgresql_as_a_canary_and_back_verified_both_ways()
    {
        using var key = BundleKey.FromSecret(Encoding.UTF8.GetBytes("staging-to-production secret, at least thirty-two bytes"));
        await using var staging = SqliteLoreStore.Open(_dir.File("staging.db"));
        var stable = Snapshot.Create(null, Tenants.Default, [Learned("les-lookup", "Look up the order before any refund.")], new RetrievalSettings { TopK = 4 }, "learning", "learned", DateTimeOffset.UnixEpoch);
        await staging.SaveSnapshotAsync(stable, Ct);
        await staging.SaveLessonsAsync(stable.Lessons, Ct);
        await staging.SetActiveSnapshotAsync(Tenants.Default, stable.Id, Ct);
        var policy = await new LessonAuthoring(new LearningPipeline(staging), Tenants.Default)
            .AddAsync(new LessonDraft { Text = "Refunds over $500 need a supervisor's approval.", Pinned = true }, new AuthorAction("cli:alice", ApiKeyRole.Admin, "policy") { ServeNow = true }, Ct);

        using var toProduction = new MemoryStream();
        var exported = await SnapshotBundles.ExportAsync(new LearningPipeline(staging), Tenants.Default, policy.SnapshotId!, toProduction, "cli:alice", key, Ct);

        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            await using var production = await PostgresLoreStore.OpenAsync(database, Ct);
            var imported = await SnapshotBundles.ImportAsync(new LearningPipeline(production), "production", toProduction.ToArray(), new BundleImportOptions("cli:ops", ApiKeyRole.Admin, "promote staging") { Key = key }, Ct);

            var rollout = await production.GetRolloutAsync("production", Ct);
            Assert.Equal((imported.SnapshotId, RolloutStage.Canary), (rollout.CandidateSnapshotId, rollout.Stage));
            var candidate = (await production.GetSnapshotAsync(imported.SnapshotId, Ct))!;
            Assert.True(candidate.IsIntact);
            Assert.Equal(4, candidate.Settings.TopK);
            Assert.Equal(2, candidate.Lessons.Count);
            Assert.Single(candidate.Lessons, l => l.Pinned && l.Authorship!.Author == "cli:alice" && l.Authorship.ImportedFrom!.Contains(exported.ContentAddress, StringComparison.Ordinal));
            Assert.Contains(AuditActions.SnapshotImported, await ActionsAsync(production, "production"));

            // Promoted in production after its canary, then sent back to a fresh SQLite store.
            await new RolloutController(production, "production").PromoteAsync("cli:ops", "canary healthy", Ct);
            using var back = new MemoryStream();
            await SnapshotBundles.ExportAsync(new LearningPipeline(production), "production", imported.SnapshotId, back, "cli:ops", key, Ct);

            await using var replica = SqliteLoreStore.Open(_dir.File("replica.db"));
            var returned = await SnapshotBundles.ImportAsync(new LearningPipeline(replica), "production", back.ToArray(), new BundleImportOptions("cli:ops", ApiKeyRole.Admin, "replica") { Key = key }, Ct);
            var copy = (await replica.GetSnapshotAsync(returned.SnapshotId, Ct))!;
            Assert.True(copy.IsIntact);
            Assert.Equal(candidate.Lessons.Select(l => (l.Id, l.Text, l.Pinned)), copy.Lessons.Select(l => (l.Id, l.Text, l.Pinned)));
            Assert.Equal(RolloutStage.Canary, (await replica.GetRolloutAsync("production", Ct)).Stage);

            // The same bundle with one byte of a lesson changed is refused by PostgreSQL's import too.
            var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(toProduction.ToArray()).Replace("supervisor", "superviser", StringComparison.Ordinal));
            var refused = await Assert.ThrowsAsync<BundleRefusedException>(() => SnapshotBundles.ImportAsync(new LearningPipeline(production), "other", tampered, new BundleImportOptions("cli:ops", ApiKeyRole.Admin, "x") { Key = key }, Ct));
            Assert.Equal("signature", refused.Check);
            Assert.Contains(AuditActions.SnapshotImportRefused, await ActionsAsync(production, "other"));
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    private static async Task<List<string>> ActionsAsync(ILoreStore store, string tenant)
    {
        var actions = new List<string>();
        await foreach (var entry in store.ReadTenantAuditAsync(tenant, 0, Ct))
        {
            actions.Add(entry.Action);
        }

        return actions;
    }
}
