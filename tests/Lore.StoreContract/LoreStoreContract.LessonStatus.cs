using Xunit;

namespace Lore.StoreContract;

// Lesson admission status: listings show active lessons unless a status (or IncludeRetired) asks for more.
public abstract partial class LoreStoreContract
{
    /// <summary>One lesson in each status, plus one retired the old way (RetiredAt set, Status left Active).</summary>
    private static Lesson[] LessonsInEveryStatus() =>
    [
        NewLesson("les-active"),
        NewLesson("les-pending") with
        {
            Status = LessonStatus.PendingReview,
            GuardFindings = [new GuardFinding("low-support", "only 2 distinct sources", Blocking: false)],
        },
        NewLesson("les-rejected") with
        {
            Status = LessonStatus.Rejected,
            GuardFindings = [new GuardFinding("secret", "contains an API key", Blocking: true)],
            Reviews = [new ReviewDecision("cli:bob", Approved: false, "leaks a key", T0.AddHours(1))],
        },
        NewLesson("les-retired") with { Status = LessonStatus.Retired, RetiredAt = T0.AddDays(1), RetiredReason = "stale" },
        NewLesson("les-retired-at", retiredAt: T0.AddDays(2)),
        NewLesson("les-tool", kind: LessonKind.ToolGuide) with { Status = LessonStatus.PendingReview },
        NewLesson("les-acme-pending", tenant: "acme") with { Status = LessonStatus.PendingReview },
    ];

    private static async Task<string[]> ListIdsAsync(ILoreStore store, LessonQuery query)
        => [.. (await store.ListLessonsAsync(query, Ct)).Select(l => l.Id)];

    [Fact]
    public async Task A_lesson_keeps_its_status_findings_and_reviews()
    {
        var store = await NewStoreAsync();
        var lessons = LessonsInEveryStatus();

        await store.SaveLessonsAsync(lessons, Ct);

        foreach (var lesson in lessons)
        {
            Assert.Equal(Canonical(lesson), Canonical(await store.GetLessonAsync(lesson.Id, Ct)));
        }
    }

    [Fact]
    public async Task By_default_only_active_lessons_are_listed()
    {
        var store = await NewStoreAsync();
        await store.SaveLessonsAsync(LessonsInEveryStatus(), Ct);

        Assert.Equal(["les-active"], await ListIdsAsync(store, new LessonQuery()));
        Assert.Empty(await ListIdsAsync(store, new LessonQuery { Tenant = "acme" }));
    }

    [Fact]
    public async Task Including_retired_lessons_lists_every_lesson_of_the_tenant_in_any_status()
    {
        var store = await NewStoreAsync();
        await store.SaveLessonsAsync(LessonsInEveryStatus(), Ct);

        Assert.Equal(
            ["les-active", "les-pending", "les-rejected", "les-retired", "les-retired-at", "les-tool"],
            await ListIdsAsync(store, new LessonQuery { IncludeRetired = true }));
    }

    [Theory]
    [InlineData(LessonStatus.Active, new[] { "les-active" })]
    [InlineData(LessonStatus.PendingReview, new[] { "les-pending", "les-tool" })]
    [InlineData(LessonStatus.Rejected, new[] { "les-rejected" })]
    [InlineData(LessonStatus.Retired, new[] { "les-retired", "les-retired-at" })]
    public async Task A_status_lists_exactly_the_lessons_in_it_whatever_IncludeRetired_says(LessonStatus status, string[] expected)
    {
        var store = await NewStoreAsync();
        await store.SaveLessonsAsync(LessonsInEveryStatus(), Ct);

        Assert.Equal(expected, await ListIdsAsync(store, new LessonQuery { Status = status }));
        Assert.Equal(expected, await ListIdsAsync(store, new LessonQuery { Status = status, IncludeRetired = true }));
    }

    [Fact]
    public async Task Status_combines_with_kind_and_tenant()
    {
        var store = await NewStoreAsync();
        await store.SaveLessonsAsync(LessonsInEveryStatus(), Ct);

        Assert.Equal(["les-tool"], await ListIdsAsync(store, new LessonQuery { Status = LessonStatus.PendingReview, Kind = LessonKind.ToolGuide }));
        Assert.Equal(["les-acme-pending"], await ListIdsAsync(store, new LessonQuery { Tenant = "acme", Status = LessonStatus.PendingReview }));
        Assert.Empty(await ListIdsAsync(store, new LessonQuery { Tenant = "acme", Status = LessonStatus.Active }));
    }

    [Fact]
    public async Task Saving_a_lesson_with_a_new_status_moves_it_between_listings()
    {
        var store = await NewStoreAsync();
        var pending = NewLesson("les-1") with { Status = LessonStatus.PendingReview };
        await store.SaveLessonsAsync([pending], Ct);
        Assert.Equal(["les-1"], await ListIdsAsync(store, new LessonQuery { Status = LessonStatus.PendingReview }));

        var approved = pending with { Status = LessonStatus.Active, Reviews = [new ReviewDecision("cli:alice", Approved: true, "checked", T0.AddHours(2))] };
        await store.SaveLessonsAsync([approved], Ct);

        Assert.Empty(await ListIdsAsync(store, new LessonQuery { Status = LessonStatus.PendingReview }));
        Assert.Equal(["les-1"], await ListIdsAsync(store, new LessonQuery()));
        Assert.Equal(Canonical(approved), Canonical(await store.GetLessonAsync("les-1", Ct)));

        await store.SaveLessonsAsync([approved with { RetiredAt = T0.AddDays(5), RetiredReason = "evidence deleted" }], Ct);
        Assert.Empty(await ListIdsAsync(store, new LessonQuery()));
        Assert.Equal(["les-1"], await ListIdsAsync(store, new LessonQuery { Status = LessonStatus.Retired }));
    }

    [Fact]
    public async Task A_lesson_with_an_undefined_status_is_refused_and_nothing_is_saved()
    {
        var store = await NewStoreAsync();

        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => store.SaveLessonsAsync(
            [NewLesson("les-ok"), NewLesson("les-bad") with { Status = (LessonStatus)42 }], Ct));

        Assert.Contains("les-bad", error.Message, StringComparison.Ordinal);
        Assert.Null(await store.GetLessonAsync("les-ok", Ct));
    }
}
