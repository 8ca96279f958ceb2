using CsCheck;
using Xunit;

namespace Lore.StoreContract;

// The audit log: one hash chain over every tenant, gap-free, verifiable by anyone with AuditChain.ComputeHash.
public abstract partial class LoreStoreContract
{
    protected static AuditDraft NewDraft(int n, string tenant = Tenants.Default, string action = AuditActions.LessonAdmitted) => new()
    {
        Tenant = tenant,
        Actor = n % 2 == 0 ? "learning" : "cli:alice",
        Action = action,
        Subject = $"les-{n}",
        Reason = $"reason {n}",
        DetailsJson = $$"""{"episodes":["ep-{{n}}"],"lift":{{n}}.5}""",
        At = T0.AddSeconds(n),
    };

    protected static async Task<List<AuditEntry>> ReadAuditAsync(ILoreStore store, long afterSequence = 0)
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadAuditAsync(afterSequence, Ct))
        {
            entries.Add(entry);
        }

        return entries;
    }

    /// <summary>Checks what a verifier checks: sequences 1..n without gaps, each linked to the hash before, each hash recomputed from its content.</summary>
    protected static void AssertValidChain(IReadOnlyList<AuditEntry> entries)
    {
        var previous = AuditChain.Genesis;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            Assert.Equal(i + 1, entry.Sequence);
            Assert.Equal(previous, entry.PreviousHash);
            Assert.Equal(AuditChain.ComputeHash(entry), entry.Hash);
            previous = entry.Hash;
        }
    }

    [Fact]
    public async Task Audit_entries_get_gap_free_sequences_and_a_chain_that_verifies()
    {
        var store = await NewStoreAsync();
        var appended = new List<AuditEntry>();

        for (var n = 0; n < 6; n++)
        {
            appended.Add(await store.AppendAuditAsync(NewDraft(n, tenant: n % 3 == 0 ? "acme" : Tenants.Default), Ct));
        }

        var read = await ReadAuditAsync(store);
        Assert.Equal(appended.Select(Canonical), read.Select(Canonical));
        AssertValidChain(read);
        Assert.Equal(AuditChain.Genesis, read[0].PreviousHash);
        Assert.Equal(["acme", "default", "default", "acme", "default", "default"], read.Select(e => e.Tenant));
    }

    [Fact]
    public async Task An_audit_entry_keeps_every_field_exactly_so_its_hash_recomputes()
    {
        var store = await NewStoreAsync();
        var draft = new AuditDraft
        {
            Tenant = "acme",
            Actor = "cli:zoë",
            Action = AuditActions.SnapshotRolledBack,
            Subject = "snap-0123456789abcdef",
            Reason = "slice \"refunds\" dropped 12 points | p=0.004\nsee details",
            DetailsJson = """{ "from" : "snap-b",  "to":"snap-a", "effect": -0.12, "note": "ünïcode ✓ 🚀" }""",
            At = new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.FromHours(5)).AddTicks(1234567),
        };

        var appended = await store.AppendAuditAsync(draft, Ct);
        var read = Assert.Single(await ReadAuditAsync(store));

        Assert.Equal(Canonical(appended), Canonical(read));
        Assert.Equal(draft.At.UtcTicks, read.At.UtcTicks);
        Assert.Equal(draft.DetailsJson, read.DetailsJson);
        Assert.Equal(draft.Reason, read.Reason);
        Assert.Equal(AuditChain.ComputeHash(read), read.Hash);
    }

    [Fact]
    public async Task An_audit_draft_without_a_time_is_stamped_when_it_is_appended()
    {
        var store = await NewStoreAsync();
        var before = DateTimeOffset.UtcNow;

        var entry = await store.AppendAuditAsync(NewDraft(1) with { At = default }, Ct);

        Assert.InRange(entry.At, before.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        AssertValidChain(await ReadAuditAsync(store));
    }

    [Fact]
    public async Task The_audit_chain_verifies_after_reopening_and_later_appends_continue_it()
    {
        var store = await NewStoreAsync();
        for (var n = 0; n < 3; n++)
        {
            await store.AppendAuditAsync(NewDraft(n), Ct);
        }

        var before = await ReadAuditAsync(store);
        store = await ReopenTrackedAsync(store);
        var next = await store.AppendAuditAsync(NewDraft(3, action: AuditActions.SnapshotPromoted), Ct);

        var after = await ReadAuditAsync(store);
        Assert.Equal(before.Select(Canonical), after.Take(3).Select(Canonical));
        Assert.Equal(4, next.Sequence);
        Assert.Equal(before[^1].Hash, next.PreviousHash);
        AssertValidChain(after);
    }

    [Fact]
    public async Task Concurrent_audit_appends_form_one_chain_without_forks_or_gaps()
    {
        var store = await NewStoreAsync();
        const int Writers = 6;
        const int PerWriter = 15;

        var tasks = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            var entries = new List<AuditEntry>();
            for (var i = 0; i < PerWriter; i++)
            {
                entries.Add(await store.AppendAuditAsync(NewDraft((w * 100) + i, tenant: $"tenant-{w}"), Ct));
            }

            return entries;
        }, Ct)).ToList();
        var returned = (await Task.WhenAll(tasks)).SelectMany(e => e).ToList();

        var read = await ReadAuditAsync(store);
        Assert.Equal(Writers * PerWriter, read.Count);
        AssertValidChain(read);
        Assert.Equal(read.Select(Canonical).Order(StringComparer.Ordinal), returned.Select(Canonical).Order(StringComparer.Ordinal));
        for (var w = 0; w < Writers; w++)
        {
            // Each writer's entries keep the order it appended them in.
            var subjects = read.Where(e => e.Tenant == $"tenant-{w}").Select(e => e.Subject);
            Assert.Equal(Enumerable.Range(0, PerWriter).Select(i => $"les-{(w * 100) + i}"), subjects);
        }
    }

    [Fact]
    public async Task Reading_the_audit_log_after_a_sequence_returns_only_the_entries_after_it()
    {
        var store = await NewStoreAsync();
        for (var n = 0; n < 5; n++)
        {
            await store.AppendAuditAsync(NewDraft(n), Ct);
        }

        Assert.Equal([3L, 4L, 5L], (await ReadAuditAsync(store, afterSequence: 2)).Select(e => e.Sequence));
        Assert.Empty(await ReadAuditAsync(store, afterSequence: 5));
        Assert.Empty(await ReadAuditAsync(store, afterSequence: 99));
        Assert.Empty(await ReadAuditAsync(await NewStoreAsync()));
    }

    public static TheoryData<string, string> InvalidDrafts => new()
    {
        { "empty tenant", "Tenant" },
        { "blank actor", "Actor" },
        { "empty action", "Action" },
        { "empty subject", "Subject" },
        { "details array", "DetailsJson" },
        { "details string", "DetailsJson" },
        { "details not json", "DetailsJson" },
        { "details empty", "DetailsJson" },
        { "details two objects", "DetailsJson" },
    };

    [Theory]
    [MemberData(nameof(InvalidDrafts))]
    public async Task An_invalid_audit_draft_is_refused_naming_the_field_and_writes_nothing(string defect, string field)
    {
        var store = await NewStoreAsync();
        await store.AppendAuditAsync(NewDraft(0), Ct);
        var valid = NewDraft(1);
        var draft = defect switch
        {
            "empty tenant" => valid with { Tenant = "" },
            "blank actor" => valid with { Actor = "  " },
            "empty action" => valid with { Action = "" },
            "empty subject" => valid with { Subject = "" },
            "details array" => valid with { DetailsJson = """["ep-1"]""" },
            "details string" => valid with { DetailsJson = "\"ep-1\"" },
            "details not json" => valid with { DetailsJson = "episodes: ep-1" },
            "details empty" => valid with { DetailsJson = "" },
            "details two objects" => valid with { DetailsJson = "{} {}" },
            _ => throw new ArgumentOutOfRangeException(nameof(defect), defect, null),
        };

        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => store.AppendAuditAsync(draft, Ct));

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
        var read = Assert.Single(await ReadAuditAsync(store));
        Assert.Equal("les-0", read.Subject);
        Assert.Equal(2, (await store.AppendAuditAsync(valid, Ct)).Sequence);
    }

    [Fact]
    public async Task Any_audit_draft_reads_back_exactly_and_its_chain_verifies()
    {
        var store = await NewStoreAsync();
        var drafts =
            from tenant in EpisodeGenerators.NonEmptyText(12)
            from actor in EpisodeGenerators.NonEmptyText(12)
            from action in Gen.OneOf(AuditActions.LessonAdmitted, AuditActions.SnapshotCanary, AuditActions.EpisodesDeleted, "custom|action:1")
            from subject in EpisodeGenerators.NonEmptyText(20)
            from reason in EpisodeGenerators.Text(60)
            from note in EpisodeGenerators.Text(40)
            from at in EpisodeGenerators.Time
            select new AuditDraft
            {
                Tenant = "t" + tenant,
                Actor = "a" + actor,
                Action = action,
                Subject = "s" + subject,
                Reason = reason,
                DetailsJson = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["note"] = note }),
                At = at,
            };

        await drafts.SampleAsync(async draft =>
        {
            var entry = await store.AppendAuditAsync(draft, Ct);
            var read = Assert.Single(await ReadAuditAsync(store, entry.Sequence - 1));
            Assert.Equal(Canonical(entry), Canonical(read));
            Assert.Equal((draft.Tenant, draft.Actor, draft.Subject, draft.Reason, draft.DetailsJson), (read.Tenant, read.Actor, read.Subject, read.Reason, read.DetailsJson));
            Assert.Equal(draft.At.UtcTicks, read.At.UtcTicks);
        }, seed: PropertySeed, iter: 60, threads: 1);

        AssertValidChain(await ReadAuditAsync(store));
    }
}
