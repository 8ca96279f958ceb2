using Lore.Retrieval;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Retrieval;

/// <summary>The per-lesson holdout: which units a lesson is withheld from, and what retrieval does and records.</summary>
public sealed class LessonHoldoutTests
{
    private static RetrievalQuery Query(string unit, double share)
        => new() { Task = "refund order 1142", Turn = "Please refund my order, the blender arrived broken", UnitKey = unit, LessonHoldoutShare = share };

    [Fact]
    public void A_lesson_is_withheld_from_about_its_share_of_units_and_always_from_the_same_ones()
    {
        var index = LessonIndex.Build(Snapshot(SupportDesk()));
        var top = index.Retrieve(Query("user-0", 0)).Lessons[0].Lesson.Id;

        var withheld = 0;
        for (var u = 0; u < 2_000; u++)
        {
            var result = index.Retrieve(Query($"user-{u}", 0.2));
            var again = index.Retrieve(Query($"user-{u}", 0.2));
            Assert.Equal(result.WithheldLessonIds, again.WithheldLessonIds);
            Assert.Equal(result.Section, again.Section);
            if (result.WithheldLessonIds.Contains(top))
            {
                withheld++;
                Assert.DoesNotContain(top, result.Lessons.Select(l => l.Lesson.Id));
                Assert.DoesNotContain($"[{top}]", result.Section ?? "", StringComparison.Ordinal);
            }
            else
            {
                Assert.Contains(top, result.Lessons.Select(l => l.Lesson.Id));
            }
        }

        Assert.InRange(withheld, 330, 470);
    }

    [Fact]
    public void Without_a_holdout_share_or_without_a_unit_nothing_is_withheld()
    {
        var index = LessonIndex.Build(Snapshot(SupportDesk()));
        var plain = index.Retrieve(Query("user-7", 0));

        for (var u = 0; u < 200; u++)
        {
            Assert.Empty(index.Retrieve(Query($"user-{u}", 0)).WithheldLessonIds);
        }

        Assert.Empty(index.Retrieve(Query("", 0.5)).WithheldLessonIds);
        Assert.Equal(plain.Lessons.Select(l => l.Lesson.Id), index.Retrieve(Query("", 0.5)).Lessons.Select(l => l.Lesson.Id));
    }

    [Fact]
    public void The_draw_is_independent_between_lessons_and_tenants()
    {
        var units = Enumerable.Range(0, 4_000).Select(u => $"user-{u}").ToArray();
        var a = units.Where(u => LessonHoldout.Withholds("default", "les-a", u, 0.5)).ToHashSet();
        var b = units.Where(u => LessonHoldout.Withholds("default", "les-b", u, 0.5)).ToHashSet();
        var other = units.Where(u => LessonHoldout.Withholds("acme", "les-a", u, 0.5)).ToHashSet();

        Assert.InRange(a.Count, 1_850, 2_150);
        Assert.InRange(a.Intersect(b).Count(), 850, 1_150);
        Assert.InRange(a.Intersect(other).Count(), 850, 1_150);
    }
}
