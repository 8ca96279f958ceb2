using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// The lessons the admission guards found borderline (the same <see cref="Lore.Learning.ReviewQueue"/> that
/// <c>lore review list</c> reads), with why each waits and, for reviewers, approve and reject with a reason.
/// </summary>
internal static class ReviewPage
{
    public static async Task<IResult> RenderAsync(HttpContext http)
    {
        var d = DashboardContext.From(http);
        var pending = await DashboardActions.OpenReviewQueue(d).ListAsync(d.Aborted).ConfigureAwait(false);
        var items = pending.Select(l => H.Of($"""
            <section class="card" data-review="{l.Id}">
              <p><span class="mono">{LessonsPage.Link(l.Id)}</span> <span class="tag">{DashboardText.Kind(l.Kind)}</span> {l.Evidence.EpisodeCount} episodes from {l.Evidence.DistinctSources} sources, confidence {l.Confidence:0.00}, by {l.Extractor.Name} {l.Extractor.Version}</p>
              <p><strong>{l.Text}</strong></p>
              <p>Scope: {DashboardText.Scope(l.Scope)}</p>
              <p>Why it waits: {(l.GuardFindings.Count == 0 ? H.Text("the admission policy asks a person for this kind of lesson") : H.Join(l.GuardFindings.Select(f => H.Of($"<span class=\"tag warn\">{f.Rule}</span> {f.Detail} "))))}</p>
              {(d.CanReview ? Decision(d, l.Id, "/dashboard/review") : Html.Empty)}
            </section>
            """));
        var intro = d.CanReview
            ? H.Of($"<p class=\"muted\">Approving admits the lesson and puts a snapshot containing it into the rollout; rejecting keeps it, never served. Both are audited with your key and reason.</p>")
            : H.Of($"<p class=\"muted\">You can read the queue; a reviewer or admin key decides.</p>");
        var body = pending.Count == 0
            ? H.Of($"{intro}<p data-testid=\"review-empty\">Nothing waits for review.</p>")
            : H.Of($"{intro}<div data-testid=\"review-queue\">{items}</div>");
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
}
