using System.Text.Json;
using Lore.Dashboard.Tests.Support;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Lore.Dashboard.Tests;

// The error-mix view (issue 13) and the outcomes chart's markers and episode axis (issue 12), read in Chromium: a
// canary whose candidate succeeds more often overall while a new failure mode appears on one slice shows the new
// mode highlighted in its stacked bar, the shift analysis reports it grown and the candidate's page says in one
// sentence that it shifted errors; marker labels never draw over each other, and the episode-count axis keeps one
// late episode from squeezing the rollout into a corner.
public sealed partial class DashboardPagesTests
{
    private const string NewMode = "category: refund without approval";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// Puts a fresh candidate in canary and stores 600 judged episodes per arm: the baseline fails 30% of the time
    /// (order not found), the candidate 5% that way and, on the payments slice, 16% by refunding without approval.
    /// </summary>
    private async Task<Snapshot> ShiftedCanaryAsync()
    {
        var runtime = await _server.RuntimeAsync();
        var rollout = await _server.Store.GetRolloutAsync(Tenants.Default, Ct);
        if (rollout.CandidateSnapshotId is not null)
        {
            await runtime.Rollout.RollbackAsync("test", "start from the stable snapshot", null, Ct);
        }

        var stable = (await _server.Store.GetSnapshotAsync((await _server.Store.GetRolloutAsync(Tenants.Default, Ct)).StableSnapshotId!, Ct))!;
        var candidate = Snapshot.Create(stable.Id, stable.Tenant, stable.Lessons, stable.Settings, "test", "a candidate that shifts errors", DateTimeOffset.UtcNow);
        await _server.Store.SaveSnapshotAsync(candidate, Ct);
        await runtime.Rollout.CanaryAsync(0.5, "test", "canary the shifting candidate", candidate.Id, Ct);

        var random = new Random(5);
        var started = DateTimeOffset.UtcNow;
        await using var import = await _server.Store.BeginImportAsync(Ct);
        for (var i = 0; i < 1_200; i++)
        {
            var isCandidate = i % 2 == 1;
            var slice = i % 4 < 2 ? "payments" : "orders";
            var u = random.NextDouble();
            var outcome = isCandidate
                ? slice == "payments" && u < 0.16 ? new Outcome(0, OutcomeSource.Environment) { Category = "refund_without_approval" }
                    : u > 0.95 ? new Outcome(0, OutcomeSource.Environment) { Category = "order_not_found" }
                    : Outcome.Success()
                : u < 0.3 ? new Outcome(0, OutcomeSource.Environment) { Category = "order_not_found" } : Outcome.Success();
            await import.AddAsync(
                new Episode
                {
                    Id = $"mix-{i}",
                    UnitKey = $"unit-{i / 2}-{(isCandidate ? "c" : "b")}",
                    Task = "help the customer",
                    Labels = System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty.Add("slice", slice),
                    StartedAt = started.AddSeconds(i),
                    EndedAt = started.AddSeconds(i + 1),
                    Outcomes = [outcome],
                    Arm = isCandidate ? RolloutArms.Candidate : RolloutArms.Baseline,
                    SnapshotId = isCandidate ? candidate.Id : stable.Id,
                },
                Ct);
        }

        await import.CommitAsync(Ct);
        return candidate;
    }

    [Fact]
    public async Task Error_mix_stacks_failure_mode_rates_per_arm_and_slice_and_highlights_the_mode_new_under_the_candidate()
    {
        // Off the live-refreshing page first: the data changes next, and a reload would abort the navigation below.
        await _page.GotoAsync("about:blank");
        var candidate = await ShiftedCanaryAsync();

        await _page.GotoAsync("/dashboard/error-mix");
        var payments = _page.GetByTestId("error-mix-payments");
        await Expect(payments).ToBeVisibleAsync();
        var candidateBar = payments.Locator("tr[data-arm=candidate]");
        await Expect(candidateBar.Locator($"rect.new[data-mode='{NewMode}']")).ToHaveCountAsync(1);
        await Expect(candidateBar.Locator($"[data-new-mode='{NewMode}']")).ToBeVisibleAsync();
        await Expect(payments.Locator($"tr[data-arm=baseline] rect[data-mode='{NewMode}']")).ToHaveCountAsync(0);
        await Expect(payments.Locator("tr[data-arm=baseline] rect[data-mode='category: order not found']")).ToHaveCountAsync(1);

        // The segment's width is its rate: about 16% of the payments slice's candidate episodes.
        var rate = double.Parse((await candidateBar.Locator($"rect[data-mode='{NewMode}']").GetAttributeAsync("data-rate"))!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(rate, 0.08, 0.25);

        // The shift analysis of the running canary: the new mode grew overall, the sentence says errors shifted.
        await Expect(_page.Locator($"[data-testid=shift] tr[data-mode='{NewMode}'][data-slice='(all)']")).ToHaveAttributeAsync("data-change", "grew");
        await Expect(_page.GetByTestId("shift-verdict")).ToContainTextAsync("shifted errors");
        await Screenshots.TakeAsync(_page, "error-mix");

        // The candidate's page states it in one sentence.
        await _page.GotoAsync($"/dashboard/snapshots/{candidate.Id}");
        await Expect(_page.GetByTestId("shift-verdict")).ToContainTextAsync("The candidate improved the target but shifted errors");
        await Expect(_page.GetByTestId("shift-verdict")).ToContainTextAsync("refund without approval");
    }

    /// <summary>The rendered boxes of the marker labels of one chart, as [x, y, width, height].</summary>
    private async Task<double[][]> LabelBoxesAsync(string chart)
    {
        var json = await _page.EvaluateAsync<string>(
            "id => JSON.stringify(Array.from(document.querySelectorAll(`svg[data-testid='${id}'] .marker text`)).map(t => { const b = t.getBBox(); return [b.x, b.y, b.width, b.height]; }))",
            chart);
        return JsonSerializer.Deserialize<double[][]>(json)!;
    }

    private static void AssertApart(double[][] boxes)
    {
        for (var i = 0; i < boxes.Length; i++)
        {
            for (var j = i + 1; j < boxes.Length; j++)
            {
                var (a, b) = (boxes[i], boxes[j]);
                var overlap = a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
                Assert.False(overlap, $"marker labels {i} [{string.Join(", ", a)}] and {j} [{string.Join(", ", b)}] overlap");
            }
        }
    }

    [Fact]
    public async Task Marker_labels_never_overlap_and_the_episode_axis_spreads_the_rollout_when_one_episode_comes_late()
    {
        // One judged episode a week after the run: on a time axis everything else is squeezed to the left.
        await _page.GotoAsync("about:blank");
        var late = DateTimeOffset.UtcNow.AddDays(7);
        await using (var import = await _server.Store.BeginImportAsync(TestContext.Current.CancellationToken))
        {
            await import.AddAsync(new Episode { Id = "late-episode", Task = "a late ticket", StartedAt = late, EndedAt = late.AddSeconds(5), Outcomes = [Outcome.Success()] }, TestContext.Current.CancellationToken);
            await import.CommitAsync(TestContext.Current.CancellationToken);
        }

        await _page.GotoAsync("/dashboard/outcomes?buckets=48");
        await Expect(_page.GetByTestId("chart-overall")).ToBeVisibleAsync();
        AssertApart(await LabelBoxesAsync("chart-overall"));
        var squeezed = await MarkerSpreadAsync();

        await _page.GetByTestId("axis-episodes").ClickAsync();
        await Expect(_page.GetByTestId("axis-time")).ToBeVisibleAsync();
        var overall = _page.GetByTestId("chart-overall");
        await Expect(overall.Locator("text", new() { HasTextString = "episode " }).First).ToBeVisibleAsync();
        await Expect(overall.Locator("[data-marker=rolled-back]")).ToHaveCountAsync(1);
        AssertApart(await LabelBoxesAsync("chart-overall"));
        foreach (var slice in drift.Report.Episodes.Select(e => e.Slice).Distinct())
        {
            AssertApart(await LabelBoxesAsync($"chart-slice-{slice}"));
        }

        // On the episode axis the markers spread over the run instead of sitting in the first sliver of the week.
        var spread = await MarkerSpreadAsync();
        Assert.True(spread > 4 * squeezed && spread > 200, $"markers span {spread:0} px on the episode axis, {squeezed:0} px on the time axis");
        await Screenshots.TakeAsync(_page, "outcomes-episode-axis");
    }

    /// <summary>The horizontal distance between the first and the last marker line of the overall chart, in px.</summary>
    private Task<double> MarkerSpreadAsync()
        => _page.EvaluateAsync<double>("() => { const xs = Array.from(document.querySelectorAll(`svg[data-testid='chart-overall'] .marker line`)).map(l => l.getBoundingClientRect().x); return xs.length < 2 ? 0 : Math.max(...xs) - Math.min(...xs); }");
}
