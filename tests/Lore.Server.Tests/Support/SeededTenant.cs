using System.Collections.Immutable;
using Xunit;

namespace Lore.Server.Tests.Support;

/// <summary>
/// A tenant with something of everything, written straight to the server's store: a stable snapshot serving one
/// lesson, an older snapshot, a lesson waiting for review, a running and an ended episode, and a key of each role.
/// Tests use it as the victim of cross-tenant attempts and as data for the authorization matrix.
/// </summary>
internal sealed record SeededTenant(
    string Tenant,
    string AgentKey,
    string ReviewerKey,
    string AdminKey,
    string StableSnapshotId,
    string OlderSnapshotId,
    string ServedLessonId,
    string PendingLessonId,
    string RunningEpisodeId,
    string EndedEpisodeId)
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    public string AdminKeyId => AdminKey.Split('_')[1];

    public static async Task<SeededTenant> CreateAsync(LoreTestServer server, string tenant)
    {
        var ct = TestContext.Current.CancellationToken;
        var store = server.Store;
        var served = Lesson($"les-{tenant}-served", tenant, LessonStatus.Active, "Look up the order before refunding it.");
        var pending = Lesson($"les-{tenant}-pending", tenant, LessonStatus.PendingReview, "Offer a voucher when a refund is late.");
        var older = Snapshot.Create(null, tenant, [], new RetrievalSettings(), "test", "empty start", T0);
        var stable = Snapshot.Create(older.Id, tenant, [served], new RetrievalSettings(), "test", "first lesson", T0.AddMinutes(1));
        await store.SaveLessonsAsync([served, pending], ct);
        await store.SaveSnapshotAsync(older, ct);
        await store.SaveSnapshotAsync(stable, ct);
        await store.SetActiveSnapshotAsync(tenant, stable.Id, ct);

        var running = new Episode { Id = $"ep-{tenant}-running", Tenant = tenant, UnitKey = "u1", Task = "refund order 1", StartedAt = T0, Origin = "test" };
        var ended = new Episode
        {
            Id = $"ep-{tenant}-ended",
            Tenant = tenant,
            UnitKey = "u2",
            Task = "refund order 2",
            StartedAt = T0,
            EndedAt = T0.AddMinutes(1),
            Steps = [Step.Tool(0, "refund_order", "{}", "ok", at: T0)],
            Outcomes = [Outcome.Success(at: T0.AddMinutes(1))],
            Origin = "test",
        };
        await store.AppendAsync([new EpisodeStarted(running), new EpisodeStarted(ended), new EpisodeEnded(ended.Id, ended.EndedAt.Value, [])], ct);

        return new SeededTenant(
            tenant,
            await server.CreateKeyAsync(tenant, ApiKeyRole.Agent, "agent"),
            await server.CreateKeyAsync(tenant, ApiKeyRole.Reviewer, "reviewer"),
            await server.CreateKeyAsync(tenant, ApiKeyRole.Admin, "admin"),
            stable.Id,
            older.Id,
            served.Id,
            pending.Id,
            running.Id,
            ended.Id);
    }

    private static Lesson Lesson(string id, string tenant, LessonStatus status, string text) => new()
    {
        Id = id,
        Kind = LessonKind.Guideline,
        Text = text,
        Trigger = LessonTrigger.OnKeywords("refund", "order"),
        Scope = new LessonScope { Tenant = tenant, Labels = ImmutableSortedDictionary<string, string>.Empty },
        Evidence = new LessonEvidence { EpisodeIds = ["ep-1", "ep-2", "ep-3"], EpisodeCount = 3, DistinctSources = 3, Support = 3 },
        Extractor = new ExtractorInfo("test", "1"),
        Confidence = 0.9,
        Status = status,
        CreatedAt = T0,
    };
}
