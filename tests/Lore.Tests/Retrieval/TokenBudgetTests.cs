using CsCheck;
using Lore.Retrieval;
using Lore.Testing;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Retrieval;

public sealed class TokenBudgetTests
{
    private static readonly string[] Words =
    [
        "refund", "order", "lookup", "customer", "address", "payment", "invoice", "flight", "seat", "baggage", "verify",
        "identity", "total", "amount", "confirm", "before", "after", "always", "never", "reservation", "cancel", "policy",
    ];

    private static RetrievalQuery Query(string task) => new() { Task = task, UnitKey = "user-1" };

    [Fact]
    public void The_budget_skips_a_top_lesson_that_does_not_fit_and_takes_the_next_best_that_do()
    {
        const string task = "check the refund order history carefully";
        var longText = string.Join(' ', Enumerable.Repeat(task, 30));
        var lessons = new[]
        {
            Lesson("les-a-long", longText, LessonTrigger.OnKeywords("refund")),
            Lesson("les-b", "Refund orders only after a lookup.", LessonTrigger.OnKeywords("refund")),
            Lesson("les-c", "Refund to the original payment method.", LessonTrigger.OnKeywords("refund")),
        };
        var unlimited = LessonIndex.Build(Snapshot(lessons, new RetrievalSettings { TokenBudget = 10_000 })).Retrieve(Query(task));
        Assert.Equal("les-a-long", unlimited.Lessons[0].Lesson.Id);

        var index = LessonIndex.Build(Snapshot(lessons, new RetrievalSettings { TokenBudget = 80 }));
        var result = index.Retrieve(Query(task));

        Assert.Equal(["les-b", "les-c"], result.Lessons.Select(l => l.Lesson.Id).Order());
        Assert.True(result.Tokens <= 80);
        Assert.Equal(TokenCounter.Count(result.Section!), result.Tokens);
    }

    [Fact]
    public void A_budget_too_small_for_the_section_frame_injects_nothing()
    {
        var index = LessonIndex.Build(Snapshot([Lesson("les-a", "Refund after lookup.", LessonTrigger.Always)], new RetrievalSettings { TokenBudget = 5 }));
        var result = index.Retrieve(Query("refund"));
        Assert.Empty(result.Lessons);
        Assert.Null(result.Section);
    }

    /// <summary>
    /// Whatever the lessons and the budget: the section's real cl100k token count equals the count reported, never
    /// exceeds the budget, and the lessons are exactly those a greedy pass over the unconstrained ranking takes.
    /// </summary>
    [Fact]
    public void The_section_never_exceeds_the_budget_and_holds_the_best_lessons_that_fit()
    {
        var lessonText = Gen.Int[2, 40].SelectMany(n => Gen.Int[0, Words.Length - 1].Array[n]).Select(ws => string.Join(' ', ws.Select(w => Words[w])));
        var gen = Gen.Select(lessonText.Array[1, 30], Gen.Int[40, 600], Gen.Int[1, 12], lessonText);
        SeededCheck.ForAll(gen, sample =>
        {
            var (texts, budget, topK, task) = sample;
            var lessons = texts.Select((t, i) => Lesson($"les-{i:D2}", t, LessonTrigger.OnDescription(t))).ToArray();
            var settings = new RetrievalSettings { TokenBudget = budget, TopK = topK, MinScore = 0.05 };
            var result = LessonIndex.Build(Snapshot(lessons, settings)).Retrieve(Query(task));

            Assert.True(result.Tokens <= budget, $"{result.Tokens} tokens for a budget of {budget}");
            Assert.Equal(result.Section is null ? 0 : TokenCounter.Count(result.Section), result.Tokens);

            var unconstrained = LessonIndex.Build(Snapshot(lessons, settings with { TokenBudget = 100_000, TopK = 100 })).Retrieve(Query(task));
            var index = LessonIndex.Build(Snapshot(lessons, settings));
            var room = budget - index.FrameTokens;
            var expected = new List<string>();
            var used = 0;
            foreach (var candidate in unconstrained.Lessons)
            {
                if (expected.Count == topK)
                {
                    break;
                }

                if (used + candidate.Tokens <= room)
                {
                    expected.Add(candidate.Lesson.Id);
                    used += candidate.Tokens;
                }
            }

            Assert.Equal(expected, result.Lessons.Select(l => l.Lesson.Id));
        }, iterations: 60);
    }
}
