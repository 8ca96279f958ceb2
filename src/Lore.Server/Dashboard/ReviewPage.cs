using Lore.Learning;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// The lessons the admission guards found borderline (the same <see cref="ReviewQueue"/> that <c>lore review list</c>
/// reads), filtered by kind, tool, slice or finding, each with why it waits and its evidence side by side (episodes it
/// was learned from next to episodes where its advice worked); for reviewers, approve and reject one lesson or the
/// ticked ones with one reason.
/// </summary>
internal static class ReviewPage
{
    private const int EvidencePerSide = 3;

    public static async Task<IResult> RenderAsync(HttpContext http, string? kind, string? tool, string? slice, string? finding)
    {
        var d = DashboardContext.From(http);
        ReviewFilter filter;
        try
        {
            filter = ReviewFilter.Parse(kind, tool, slice, finding);
        }
        catch (ArgumentException e)
        {
            return await DashboardActions.RefusedAsync(d, "review", StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
        }

        var queue = DashboardActions.OpenReviewQueue(d);
        var pending = await queue.ListAsync(filter, d.Aborted).ConfigureAwait(false);
        var cards = new List<Html>(pending.Count);
        foreach (var l in pending)
        {
            var evidence = await queue.EvidenceAsync(l.Id, EvidencePerSide, d.Aborted).ConfigureAwait(false);
            cards.Add(H.Of($"""
                <section class="card" data-review="{l.Id}">
                  <p>{(d.CanReview ? H.Of($"<input type=\"checkbox\" name=\"id\" value=\"{l.Id}\" form=\"bulk\" aria-label=\"tick {l.Id}\" data-testid=\"tick\"> ") : Html.Empty)}<span class="mono">{LessonsPage.Link(l.Id)}</span> <span class="tag">{DashboardText.Kind(l.Kind)}</span> {l.Evidence.EpisodeCount} episodes from {l.Evidence.DistinctSources} sources, confidence {l.Confidence:0.00}, by {l.Extractor.Name} {l.Extractor.Version}</p>
                  <p><strong>{l.Text}</strong></p>
                  <p>Scope: {DashboardText.Scope(l.Scope)}</p>
                  <p>Why it waits: {(l.GuardFindings.Count == 0 ? H.Text("the admission policy asks a person for this kind of lesson") : H.Join(l.GuardFindings.Select(f => H.Of($"<span class=\"tag warn\">{f.Rule}</span> {f.Detail} "))))}</p>
                  {SideBySide(evidence)}
                  {(d.CanReview ? Decision(d, l.Id, "/dashboard/review") : Html.Empty)}
                </section>
                """));
        }

        var intro = d.CanReview
            ? H.Of($"<p class=\"muted\">Approving admits the lesson and puts a snapshot containing it into the rollout; rejecting keeps it, never served. Both are audited with your key and reason. Tick several to decide them with one reason.</p>")
            : H.Of($"<p class=\"muted\">You can read the queue; a reviewer or admin key decides.</p>");
        var kinds = H.Join(Enum.GetValues<LessonKind>().Select(k => H.Of($"<option value=\"{k}\"{(k == filter.Kind ? H.Of($" selected") : Html.Empty)}>{DashboardText.Kind(k)}</option>")));
        // A GET form without an action (it reloads this page with the filter): only forms that change something name a /dashboard action.
        var filters = H.Of($"""
            <form method="get" class="filters" role="search" data-testid="review-filters">
              <select name="kind" aria-label="kind"><option value="">any kind</option>{kinds}</select>
              <input type="search" name="tool" value="{filter.Tool ?? ""}" placeholder="tool" aria-label="tool">
              <input type="search" name="slice" value="{filter.Slice ?? ""}" placeholder="slice" aria-label="slice">
              <input type="search" name="finding" value="{filter.Finding ?? ""}" placeholder="finding (guard rule)" aria-label="finding">
              <button type="submit">Filter</button>
            </form>
            """);
        var returnPath = "/dashboard/review" + http.Request.QueryString.Value;
        var bulk = d.CanReview && pending.Count > 0
            ? H.Of($"""
                <form method="post" id="bulk" action="/dashboard/review/approve" class="action" data-testid="bulk">
                  {d.AntiforgeryField()}<input type="hidden" name="return" value="{returnPath}">
                  <input type="text" name="reason" required maxlength="{DashboardForms.MaxReasonLength}" placeholder="one reason for the ticked lessons (audited)" aria-label="reason" size="50">
                  <button type="submit" class="good" data-testid="bulk-approve">Approve ticked</button>
                  <button type="submit" class="danger" formaction="/dashboard/review/reject" data-testid="bulk-reject">Reject ticked</button>
                </form>
                """)
            : Html.Empty;
        var body = pending.Count == 0
            ? H.Of($"{intro}{filters}<p data-testid=\"review-empty\">Nothing waits for review{(filter == new ReviewFilter() ? "" : " that matches the filter")}.</p>")
            : H.Of($"{intro}{filters}{bulk}<div data-testid=\"review-queue\">{H.Join(cards)}</div>");
        return await DashboardLayout.PageAsync(d, "review", $"Review queue ({pending.Count})", body).ConfigureAwait(false);
    }

    /// <summary>Approve and reject, each with its reason; shown only to reviewers and admins.</summary>
    public static Html Decision(DashboardContext d, string lessonId, string returnPath)
        => H.Of($"""
            <div class="actions" data-testid="review-actions">
              {DashboardForms.ReasonForm(d, H.Path("review", lessonId, "approve"), "Approve", "good", returnPath, "why approve (audited)", testId: "approve")}
              {DashboardForms.ReasonForm(d, H.Path("review", lessonId, "reject"), "Reject", "danger", returnPath, "why reject (audited)", testId: "reject")}
            </div>
            """);

    /// <summary>The two columns of evidence: what the lesson was learned from, and where its advice was followed and worked.</summary>
    public static Html SideBySide(ReviewEvidence evidence)
        => H.Of($"""
            <div class="grid" data-testid="evidence-side-by-side">
              <div data-testid="learned-from"><h3>Learned from ({evidence.LearnedFrom.Count} shown{Missing(evidence.LearnedFromMissing)})</h3>{Column(evidence.LearnedFrom)}</div>
              <div data-testid="shown-to-work"><h3>Its advice followed and worked ({evidence.ShownToWork.Count} shown{Missing(evidence.ShownToWorkMissing)})</h3>{Column(evidence.ShownToWork)}</div>
            </div>
            """);

    private static string Missing(int missing) => missing == 0 ? "" : $", {missing} no longer stored";

    private static Html Column(IReadOnlyList<ReviewEvidenceEpisode> episodes)
        => episodes.Count == 0
            ? H.Of($"<p class=\"muted\">None cited.</p>")
            : H.Join(episodes.Select(e => H.Of($"""
                <div class="step" data-episode="{e.Id}">
                  <div>{EpisodesPage.Link(e.Id)} {LessonsPage.OutcomeTag(e.Score)} {(e.Slice is null ? Html.Empty : H.Of($"<span class=\"tag\">{e.Slice}</span>"))}</div>
                  <div>{H.Short(e.Task, 160)}</div>
                  <ol>{H.Join(e.Steps.Take(12).Select(s => H.Of($"<li>{(s.Kind == StepKind.ToolCall ? H.Of($"<span class=\"mono\">{s.Tool}</span> {(s.Failed ? H.Of($"<span class=\"tag bad\">failed</span>") : H.Of($"<span class=\"tag good\">ok</span>"))} ") : H.Of($"model: "))}{H.Short(s.Text, 160)}</li>")))}</ol>
                </div>
                """)));
}
