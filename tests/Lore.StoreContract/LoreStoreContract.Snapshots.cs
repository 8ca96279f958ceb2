using Xunit;

namespace Lore.StoreContract;

// Snapshots: immutable, content-addressed, listed newest first; the active pointer per tenant.
public abstract partial class LoreStoreContract
{
    protected static Snapshot NewSnapshot(string? parentId, string tenant = Tenants.Default, int lessons = 2, int minute = 0, string reason = "learned") =>
        Snapshot.Create(
            parentId,
            tenant,
            Enumerable.Range(0, lessons).Select(i => NewLesson($"les-{tenant}-{minute}-{i}", tenant)),
            new RetrievalSettings { TopK = 3, TokenBudget = 250 },
            createdBy: "learning",
            reason: reason,
            createdAt: T0.AddMinutes(minute));

    [Fact]
    public async Task A_snapshot_reads_back_exactly_and_intact()
    {
        var store = await NewStoreAsync();
        var snapshot = NewSnapshot(parentId: null);

        await store.SaveSnapshotAsync(snapshot, Ct);

        var read = await store.GetSnapshotAsync(snapshot.Id, Ct);
        Assert.NotNull(read);
        Assert.Equal(Canonical(snapshot), Canonical(read));
        Assert.True(read.IsIntact);
        Assert.Null(await store.GetSnapshotAsync("snap-ffffffffffffffff", Ct));
    }

    [Fact]
    public async Task Saving_a_snapshot_again_keeps_the_first_copy()
    {
        var store = await NewStoreAsync();
        var first = NewSnapshot(parentId: null, reason: "first");
        var again = first with { Reason = "second", CreatedBy = "someone else" };

        await store.SaveSnapshotAsync(first, Ct);
        await store.SaveSnapshotAsync(again, Ct);

        Assert.Equal("first", (await store.GetSnapshotAsync(first.Id, Ct))!.Reason);
        Assert.Equal("first", Assert.Single(await store.ListSnapshotsAsync(Tenants.Default, Ct)).Reason);
    }

    [Fact]
    public async Task A_snapshot_whose_content_was_changed_is_refused()
    {
        var store = await NewStoreAsync();
        var original = NewSnapshot(parentId: null);
        await store.SaveSnapshotAsync(original, Ct);
        var tampered = original with { Lessons = [.. original.Lessons.Select(l => l with { Text = "Refund without checking." })] };
        var forged = NewSnapshot(parentId: null, minute: 9) with { Settings = new RetrievalSettings { TopK = 50 } };

        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => store.SaveSnapshotAsync(tampered, Ct));
        var forgedError = await Assert.ThrowsAnyAsync<ArgumentException>(() => store.SaveSnapshotAsync(forged, Ct));

        Assert.Contains(original.Id, error.Message);
        Assert.Contains(forged.Id, forgedError.Message);
        Assert.Equal(Canonical(original), Canonical(await store.GetSnapshotAsync(original.Id, Ct)));
        Assert.Null(await store.GetSnapshotAsync(forged.Id, Ct));
    }

    [Fact]
    public async Task Snapshots_list_newest_first_with_the_active_one_marked()
    {
        var store = await NewStoreAsync();
        var first = NewSnapshot(parentId: null, minute: 0);
        var second = NewSnapshot(first.Id, lessons: 3, minute: 10);
        var third = NewSnapshot(second.Id, lessons: 1, minute: 20);
        await store.SaveSnapshotAsync(second, Ct);
        await store.SaveSnapshotAsync(third, Ct);
        await store.SaveSnapshotAsync(first, Ct);

        await store.SetActiveSnapshotAsync(Tenants.Default, second.Id, Ct);
        var list = await store.ListSnapshotsAsync(Tenants.Default, Ct);

        Assert.Equal([third.Id, second.Id, first.Id], list.Select(s => s.Id));
        Assert.Equal([false, true, false], list.Select(s => s.IsActive));
        var summary = list[1];
        Assert.Equal((first.Id, Tenants.Default, 3, "learning", "learned"), (summary.ParentId, summary.Tenant, summary.LessonCount, summary.CreatedBy, summary.Reason));
        Assert.Equal(second.CreatedAt, summary.CreatedAt);
    }

    [Fact]
    public async Task The_active_snapshot_is_none_until_set_and_can_be_cleared()
    {
        var store = await NewStoreAsync();
        var first = NewSnapshot(parentId: null);
        var second = NewSnapshot(first.Id, minute: 5);
        await store.SaveSnapshotAsync(first, Ct);
        await store.SaveSnapshotAsync(second, Ct);

        Assert.Null(await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        await store.SetActiveSnapshotAsync(Tenants.Default, second.Id, Ct);
        Assert.Equal(second.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        await store.SetActiveSnapshotAsync(Tenants.Default, first.Id, Ct);
        Assert.Equal(first.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        await store.SetActiveSnapshotAsync(Tenants.Default, null, Ct);
        Assert.Null(await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Activating_an_unknown_snapshot_throws_and_keeps_the_current_one()
    {
        var store = await NewStoreAsync();
        var snapshot = NewSnapshot(parentId: null);
        await store.SaveSnapshotAsync(snapshot, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, snapshot.Id, Ct);

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.SetActiveSnapshotAsync(Tenants.Default, "snap-0000000000000000", Ct));

        Assert.Contains("snap-0000000000000000", error.Message);
        Assert.Equal(snapshot.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task A_tenant_cannot_be_pointed_at_another_tenants_snapshot()
    {
        var store = await NewStoreAsync();
        var acme = NewSnapshot(parentId: null, tenant: "acme");
        await store.SaveSnapshotAsync(acme, Ct);

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.SetActiveSnapshotAsync(Tenants.Default, acme.Id, Ct));

        Assert.Contains(acme.Id, error.Message);
        Assert.Null(await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        await store.SetActiveSnapshotAsync("acme", acme.Id, Ct);
        Assert.Equal(acme.Id, await store.GetActiveSnapshotIdAsync("acme", Ct));
    }
}
