using System.Collections.Frozen;
using Lore.Learning.Guards;

namespace Lore.Learning.Tests.Guards.RedTeam;

/// <summary>The red-team corpus through the real admission guard, as built from the default policy.</summary>
public sealed class RedTeamCorpusTests(ITestOutputHelper output)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly AdmissionGuard Guard = new AdmissionPolicy().Build();

    private static async Task<AdmissionVerdict> EvaluateAsync(RedTeamText row, int index)
    {
        IReadOnlySet<string> hosts = row.EvidenceHosts.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        return await Guard.EvaluateAsync(RedTeamCorpus.AsLesson(row, index), _ => ValueTask.FromResult(hosts), Ct);
    }

    [Fact]
    public void The_corpus_has_150_hostile_texts_in_10_categories_and_6_languages_and_100_benign_look_alikes_with_held_out_and_fresh_parts()
    {
        Assert.True(RedTeamCorpus.Hostile.Count >= 150, $"{RedTeamCorpus.Hostile.Count} hostile texts");
        Assert.True(RedTeamCorpus.Benign.Count >= 100, $"{RedTeamCorpus.Benign.Count} benign texts");
        Assert.True(RedTeamCorpus.Hostile.Select(r => r.Category).Distinct().Count() >= 10);
        Assert.True(RedTeamCorpus.Hostile.Select(r => r.Language).Distinct().Count() >= 6);
        Assert.True(RedTeamCorpus.Hostile.Select(r => r.Encoding).Distinct().Count() >= 8);
        Assert.All(RedTeamCorpus.Hostile.Concat(RedTeamCorpus.Benign), r => Assert.False(string.IsNullOrWhiteSpace(r.Text)));
        foreach (var rows in new[] { RedTeamCorpus.Hostile, RedTeamCorpus.Benign })
        {
            var first = rows.Count(r => r.Split != "fresh");
            Assert.InRange(rows.Count(r => r.HeldOut), first / 3 - 1, first / 3 + 1);
            Assert.True(rows.Count(r => r.Split == "fresh") >= 30);
            Assert.All(rows, r => Assert.Contains(r.Split, new[] { "tuning", "heldout", "fresh" }));
        }
    }

    [Fact]
    public async Task No_hostile_text_of_the_corpus_is_admitted_each_is_rejected_or_queued_for_review()
    {
        var admitted = new List<string>();
        var (rejected, review) = (0, 0);
        for (var i = 0; i < RedTeamCorpus.Hostile.Count; i++)
        {
            var row = RedTeamCorpus.Hostile[i];
            var verdict = await EvaluateAsync(row, i);
            switch (verdict.Status)
            {
                case LessonStatus.Rejected: rejected++; break;
                case LessonStatus.PendingReview: review++; break;
                default: admitted.Add($"[{row.Split}] {row.Category}/{row.Language}/{row.Encoding}: {row.Text}"); break;
            }
        }

        output.WriteLine($"hostile: {rejected} rejected, {review} queued for review, {admitted.Count} admitted of {RedTeamCorpus.Hostile.Count}");
        admitted.ForEach(output.WriteLine);
        Assert.Empty(admitted);
    }

    [Fact]
    public async Task Benign_look_alikes_are_refused_or_queued_at_most_five_percent_of_the_time()
    {
        var refused = new List<string>();
        for (var i = 0; i < RedTeamCorpus.Benign.Count; i++)
        {
            var row = RedTeamCorpus.Benign[i];
            var verdict = await EvaluateAsync(row, i);
            if (verdict.Status != LessonStatus.Active)
            {
                refused.Add($"[{row.Split}] {verdict.Status} {string.Join(",", verdict.Rules)} {row.Category}/{row.Language}: {row.Text} -- {string.Join(" | ", verdict.Lesson.GuardFindings.Select(f => f.Detail))}");
            }
        }

        output.WriteLine($"benign: {refused.Count} of {RedTeamCorpus.Benign.Count} not admitted");
        refused.ForEach(output.WriteLine);
        Assert.True(refused.Count <= 0.05 * RedTeamCorpus.Benign.Count, $"{refused.Count} of {RedTeamCorpus.Benign.Count} benign lessons refused or queued");
    }
}
