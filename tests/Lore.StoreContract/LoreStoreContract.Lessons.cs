using System.Collections.Immutable;
using Xunit;

namespace Lore.StoreContract;

// Lessons: the latest version of each lesson by id, listed per tenant.
public abstract partial class LoreStoreContract
{
    protected static Lesson NewLesson(string id, string tenant = Tenants.Default, LessonKind kind = LessonKind.Guideline, DateTimeOffset? retiredAt = null) => new()
    {
        Id = id,
        Kind = kind,
        Text = $"Look up the order before refunding it ({id}).",
        Trigger = LessonTrigger.OnKeywords("refund", "order"),
        Scope = new LessonScope
        {
            Tenant = tenant,
            UnitKey = kind == LessonKind.UserFact ? "user-7" : null,
            Labels = ImmutableSortedDictionary<string, string>.Empty.Add("slice", "refunds"),
            Tools = ["find_order", "refund"],
        },
        Evidence = new LessonEvidence
        {
            EpisodeIds = ["ep-1", "ep-2"],
            EpisodeCount = 2,
            DistinctSources = 2,
            Support = 3,
            Lift = 2.5,
            IntervalLow = 0.31,
            IntervalHigh = 0.77,
            Feedback = ["user said: always check first"],
        },
        Extractor = new ExtractorInfo("tool-errors", "1.0.0"),
        Confidence = 0.8125,
        Effect = new LessonEffect(40, 0.7, 60, 0.45),
        CreatedAt = T0,
        RetiredAt = retiredAt,
        RetiredReason = retiredAt is null ? null : "harmful",
    };

    [Fact]
    public async Task A_lesson_reads_back_exactly()
    {
        var store = await NewStoreAsync();
        var lesson = NewLesson("les-1");

        await store.SaveLessonsAsync([lesson], Ct);

        Assert.Equal(Canonical(lesson), Canonical(await store.GetLessonAsync("les-1", Ct)));
        Assert.Null(await store.GetLessonAsync("les-404", Ct));
    }

    [Fact]
    public async Task Saving_a_lesson_again_replaces_the_earlier_version()
    {
        var store = await NewStoreAsync();
        await store.SaveLessonsAsync([NewLesson("les-1"), NewLesson("les-2")], Ct);
        var retired = NewLesson("les-1", retiredAt: T0.AddDays(3)) with { Text = "revised" };

        await store.SaveLessonsAsync([retired], Ct);

        Assert.Equal(Canonical(retired), Canonical(await store.GetLessonAsync("les-1", Ct)));
        Assert.Equal(["les-2"], (await store.ListLessonsAsync(new LessonQuery(), Ct)).Select(l => l.Id));
        Assert.Equal(["les-1", "les-2"], (await store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct)).Select(l => l.Id));
    }

    [Fact]
    public async Task Listing_lessons_filters_by_tenant_kind_and_retirement_and_orders_by_id()
    {
        var store = await NewStoreAsync();
        await store.SaveLessonsAsync(
        [
            NewLesson("les-c", kind: LessonKind.ToolGuide),
            NewLesson("les-a"),
            NewLesson("les-B", kind: LessonKind.ToolGuide),
            NewLesson("les-old", retiredAt: T0),
            NewLesson("les-acme", tenant: "acme"),
        ], Ct);

        Assert.Equal(["les-B", "les-a", "les-c"], (await store.ListLessonsAsync(new LessonQuery(), Ct)).Select(l => l.Id));
        Assert.Equal(["les-B", "les-c"], (await store.ListLessonsAsync(new LessonQuery { Kind = LessonKind.ToolGuide }, Ct)).Select(l => l.Id));
        Assert.Equal(["les-B", "les-a", "les-c", "les-old"], (await store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct)).Select(l => l.Id));
        Assert.Equal(["les-acme"], (await store.ListLessonsAsync(new LessonQuery { Tenant = "acme" }, Ct)).Select(l => l.Id));
        Assert.Empty(await store.ListLessonsAsync(new LessonQuery { Kind = LessonKind.UserFact }, Ct));
    }
}
