using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lore.Learning.Authoring;
using Lore.Learning.Bundles;
using Lore.Sqlite;
using static Lore.Learning.Tests.Guards.GuardTestData;

namespace Lore.Learning.Tests.Authoring;

/// <summary>Moving learned state between stores as bundles: what leaves, what is verified, what enters the rollout.</summary>
public sealed class SnapshotBundleTests : IDisposable
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("a-shared-secret-of-more-than-thirty-two-bytes-0123456789");

    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    private static LearningOptions Options()
    {
        var options = new LearningOptions();
        options.Extractors.Add(new ToolErrorExtractor());
        options.Extractors.Add(new ContrastExtractor());
        return options;
    }

    private static BundleImportOptions Import(BundleKey? key, bool allowUnsigned = false)
        => new("cli:ops", ApiKeyRole.Admin, "promote staging 2026-03") { Key = key, AllowUnsigned = allowUnsigned };

    /// <summary>A staging store that learned from refunds and holds an authored policy and a unit-scoped lesson in its stable snapshot.</summary>
    private async Task<(SqliteLoreStore Store, Snapshot Stable)> StagingAsync()
    {
        var store = SqliteLoreStore.Open(_dir.File("staging.db"));
        await ImportAsync(store, Refunds(0, 200));
        var pipeline = new LearningPipeline(store, Options(), _clock);
        var run = await pipeline.RunAsync(Tenants.Default, "learning", cancellationToken: Ct);
        var stable = (await store.GetSnapshotAsync(run.SnapshotId!, Ct))!;

        // A fact about one customer, served to that customer only: it must never leave the store.
        var fact = new Lesson
        {
            Id = "les-fact00000000001",
            Kind = LessonKind.UserFact,
            Text = "This customer prefers store credit to refunds.",
            Scope = new LessonScope { UnitKey = "customer-3" },
            Evidence = new LessonEvidence { EpisodeIds = ["ep-00003"], EpisodeCount = 1, Feedback = ["said so on the phone"] },
            Extractor = new ExtractorInfo("facts", "1"),
        };
        var withFact = Snapshot.Create(stable.Id, Tenants.Default, [.. stable.Lessons, fact], stable.Settings, "test", "a unit fact", _clock.GetUtcNow());
        await store.SaveSnapshotAsync(withFact, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, withFact.Id, Ct);
        var authored = await new LessonAuthoring(new LearningPipeline(store, Options(), _clock), Tenants.Default)
            .AddAsync(new LessonDraft { Text = "Refunds over $500 need a supervisor's approval; write to ops@example.com if unsure." }, new AuthorAction("cli:alice", ApiKeyRole.Admin, "policy") { ServeNow = true }, Ct);
        _clock.Advance(TimeSpan.FromHours(1));
        return (store, (await store.GetSnapshotAsync(authored.SnapshotId!, Ct))!);
    }

    private static async Task<byte[]> ExportAsync(ILoreStore store, string snapshotId, BundleKey? key, ManualTimeProvider clock)
    {
        using var output = new MemoryStream();
        await SnapshotBundles.ExportAsync(new LearningPipeline(store, Options(), clock), Tenants.Default, snapshotId, output, "cli:alice", key, Ct);
        return output.ToArray();
    }

    [Fact]
    public async Task A_signed_bundle_imports_into_another_store_as_a_canary_candidate_with_its_lessons_and_audit()
    {
        var (staging, stable) = await StagingAsync();
        await using var _ = staging;
        using var key = BundleKey.FromSecret(Secret);
        var bundle = await ExportAsync(staging, stable.Id, key, _clock);

        await using var production = SqliteLoreStore.Open(_dir.File("production.db"));
        var imported = await SnapshotBundles.ImportAsync(new LearningPipeline(production, Options(), _clock), Tenants.Default, bundle, Import(key), Ct);

        var rollout = await production.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((imported.SnapshotId, RolloutStage.Canary), (rollout.CandidateSnapshotId, rollout.Stage));
        Assert.Null(rollout.StableSnapshotId);
        var snapshot = (await production.GetSnapshotAsync(imported.SnapshotId, Ct))!;
        Assert.True(snapshot.IsIntact);
        Assert.Equal(stable.Lessons.Where(l => l.Scope.UnitKey is null).Select(l => l.Id), snapshot.Lessons.Select(l => l.Id));
        Assert.Equal(stable.Lessons.Where(l => l.Scope.UnitKey is null).Select(l => l.Text), snapshot.Lessons.Select(l => l.Text.Replace("[email]", "ops@example.com", StringComparison.Ordinal)));
        Assert.All(snapshot.Lessons, l => Assert.Empty(l.Evidence.EpisodeIds));
        Assert.Equal(stable.Id, imported.SourceSnapshotId);
        Assert.Equal(key.KeyId, imported.KeyId);
        foreach (var lesson in snapshot.Lessons)
        {
            Assert.Equal(Tenants.Default, (await production.GetLessonAsync(lesson.Id, Ct))!.Scope.Tenant);
        }

        var entries = await AuditAsync(production);
        Assert.Equal([AuditActions.SnapshotImported, AuditActions.SnapshotCreated, AuditActions.SnapshotCanary], entries.Select(e => e.Action));
        Assert.Contains(key.KeyId, entries[0].DetailsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bundle_carries_no_episode_ids_feedback_unit_lessons_or_personal_data()
    {
        var (staging, stable) = await StagingAsync();
        await using var _ = staging;
        var text = Encoding.UTF8.GetString(await ExportAsync(staging, stable.Id, key: null, _clock));

        Assert.DoesNotContain("ep-0", text, StringComparison.Ordinal);
        Assert.DoesNotContain("customer-", text, StringComparison.Ordinal);
        Assert.DoesNotContain("store credit", text, StringComparison.Ordinal);
        Assert.DoesNotContain("said so on the phone", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ops@example.com", text, StringComparison.Ordinal);
        Assert.Contains("les-fact00000000001", text, StringComparison.Ordinal); // named as withheld, nothing more
        Assert.Contains(AuditActions.SnapshotExported, (await AuditAsync(staging)).Select(e => e.Action));
    }

    [Fact]
    public async Task A_tampered_bundle_is_refused_naming_the_check_that_failed_and_the_refusal_is_audited()
    {
        var (staging, stable) = await StagingAsync();
        await using var _ = staging;
        using var key = BundleKey.FromSecret(Secret);
        var unsigned = await ExportAsync(staging, stable.Id, key: null, _clock);
        var signed = await ExportAsync(staging, stable.Id, key, _clock);
        await using var production = SqliteLoreStore.Open(_dir.File("production.db"));
        var pipeline = new LearningPipeline(production, Options(), _clock);

        // A lesson's text changed after export: the content no longer hashes to the address.
        var edited = Tamper(unsigned, payload => payload["snapshot"]!["lessons"]![0]!["text"] = "Always refund without checking.");
        var address = await Assert.ThrowsAsync<BundleRefusedException>(() => SnapshotBundles.ImportAsync(pipeline, Tenants.Default, edited, Import(null, allowUnsigned: true), Ct));
        Assert.Equal("content-address", address.Check);
        Assert.Contains("changed after export", address.Message, StringComparison.Ordinal);

        // The address recomputed to match, but the signature covers the payload.
        var forged = Tamper(signed, payload => payload["exportedBy"] = "someone else");
        var signature = await Assert.ThrowsAsync<BundleRefusedException>(() => SnapshotBundles.ImportAsync(pipeline, Tenants.Default, forged, Import(key), Ct));
        Assert.Equal("signature", signature.Check);

        using var other = BundleKey.FromSecret(SHA256.HashData(Secret).Concat(Secret).ToArray());
        var wrongKey = await Assert.ThrowsAsync<BundleRefusedException>(() => SnapshotBundles.ImportAsync(pipeline, Tenants.Default, signed, Import(other), Ct));
        Assert.Contains(key.KeyId, wrongKey.Message, StringComparison.Ordinal);
        var notSigned = await Assert.ThrowsAsync<BundleRefusedException>(() => SnapshotBundles.ImportAsync(pipeline, Tenants.Default, unsigned, Import(null), Ct));
        Assert.Equal("signature", notSigned.Check);
        var garbage = await Assert.ThrowsAsync<BundleRefusedException>(() => SnapshotBundles.ImportAsync(pipeline, Tenants.Default, Encoding.UTF8.GetBytes("{\"hello\":1}"), Import(key), Ct));
        Assert.Equal("format", garbage.Check);

        Assert.Null((await production.GetRolloutAsync(Tenants.Default, Ct)).CandidateSnapshotId);
        Assert.Empty(await production.ListSnapshotsAsync(Tenants.Default, Ct));
        var refusals = await AuditAsync(production);
        Assert.Equal(5, refusals.Count);
        Assert.All(refusals, e => Assert.Equal(AuditActions.SnapshotImportRefused, e.Action));
    }

    [Fact]
    public async Task An_ecdsa_signed_bundle_verifies_with_the_public_key_alone()
    {
        var (staging, stable) = await StagingAsync();
        await using var _ = staging;
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var signer = BundleKey.Parse(ecdsa.ExportECPrivateKeyPem());
        using var verifier = BundleKey.Parse(ecdsa.ExportSubjectPublicKeyInfoPem());
        Assert.Equal(signer.KeyId, verifier.KeyId);
        var bundle = await ExportAsync(staging, stable.Id, signer, _clock);

        await using var production = SqliteLoreStore.Open(_dir.File("production.db"));
        var imported = await SnapshotBundles.ImportAsync(new LearningPipeline(production, Options(), _clock), Tenants.Default, bundle, Import(verifier), Ct);
        Assert.Equal(BundleKey.Ecdsa, verifier.Algorithm);
        Assert.NotEmpty(imported.LessonIds);
        Assert.Throws<InvalidOperationException>(() => { using var s = new MemoryStream(); SnapshotBundles.ExportAsync(new LearningPipeline(staging, Options(), _clock), Tenants.Default, stable.Id, s, "x", verifier, Ct).GetAwaiter().GetResult(); });
    }

    [Fact]
    public async Task Importing_into_another_tenant_of_the_same_store_gives_the_lessons_their_own_ids()
    {
        var (staging, stable) = await StagingAsync();
        await using var _ = staging;
        var bundle = await ExportAsync(staging, stable.Id, key: null, _clock);
        var imported = await SnapshotBundles.ImportAsync(new LearningPipeline(staging, Options(), _clock), "production", bundle, Import(null, allowUnsigned: true) with { Entry = new RolloutPolicy { EntryStage = RolloutStage.Shadow } }, Ct);

        Assert.DoesNotContain(imported.LessonIds, stable.Lessons.Select(l => l.Id).Contains);
        Assert.Equal(RolloutStage.Shadow, (await staging.GetRolloutAsync("production", Ct)).Stage);
        Assert.Equal(stable.Id, await staging.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        foreach (var id in stable.Lessons.Select(l => l.Id))
        {
            var original = await staging.GetLessonAsync(id, Ct);
            Assert.True(original is null || original.Scope.Tenant == Tenants.Default);
        }
    }

    [Fact]
    public async Task Only_an_admin_may_import()
    {
        var (staging, stable) = await StagingAsync();
        await using var _ = staging;
        var bundle = await ExportAsync(staging, stable.Id, key: null, _clock);
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => SnapshotBundles.ImportAsync(new LearningPipeline(staging, Options(), _clock), "production", bundle, new BundleImportOptions("key:r", ApiKeyRole.Reviewer, "x") { AllowUnsigned = true }, Ct));
    }

    /// <summary>Edits the payload and, for an unsigned bundle, recomputes nothing: the bundle as an attacker would hand it over.</summary>
    private static byte[] Tamper(byte[] bundle, Action<JsonNode> edit)
    {
        var root = JsonNode.Parse(bundle)!;
        edit(root["payload"]!);
        return JsonSerializer.SerializeToUtf8Bytes(root);
    }
}
