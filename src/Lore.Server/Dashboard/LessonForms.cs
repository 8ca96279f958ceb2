using Lore.Learning.Authoring;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// People acting on single lessons from the dashboard: write one, edit, pin or unpin, retire. Every form goes through
/// <see cref="LessonAuthoring"/> exactly as <c>lore lessons</c> and the REST API do (content screen, new version,
/// snapshot through the rollout, audit), with the signed-in key as author, an antiforgery token and a reason. Serving at
/// once and overriding the content screen are offered to admins only, and refused to anyone else by the engine.
/// </summary>
internal static class LessonForms
{
    private const int MaxFieldLength = 2_000;

    /// <summary>The page with the form to write a lesson.</summary>
    public static async Task<IResult> NewAsync(HttpContext http)
    {
        var d = DashboardContext.From(http);
        if (!d.CanReview)
        {
            return await DashboardActions.RefusedAsync(d, "lessons", StatusCodes.Status403Forbidden, "A reviewer or admin key is needed to write lessons.").ConfigureAwait(false);
        }

        var kinds = H.Join(Enum.GetValues<LessonKind>().Where(k => k != LessonKind.UserFact).Select(k => H.Of($"<option value=\"{k}\">{DashboardText.Kind(k)}</option>")));
        var body = H.Of($"""
            <p class="muted">A lesson you write is screened like a learned one, versioned with your key as author, and reaches agents only through a new snapshot in the tenant's rollout{(d.CanAdminister ? " (or at once, if you say so)" : "")}.</p>
            <form method="post" action="/dashboard/lessons" class="card" data-testid="add-lesson">
              {d.AntiforgeryField()}
              <p><label>Text<br><textarea name="text" rows="3" cols="80" required maxlength="{LessonDraft.MaxTextLength}" placeholder="Refunds over $500 need a supervisor's approval."></textarea></label></p>
              <p><label>Kind <select name="kind">{kinds}</select></label></p>
              {ScopeFields("", "")}
              <p><label><input type="checkbox" name="pinned" value="true"> pinned: always injected within its scope, first</label></p>
              {AdminFields(d)}
              <p><input type="text" name="reason" required maxlength="{DashboardForms.MaxReasonLength}" placeholder="why (audited)" aria-label="reason"> <button type="submit" class="good">Add lesson</button></p>
            </form>
            """);
        return await DashboardLayout.PageAsync(d, "lessons", "Write a lesson", body).ConfigureAwait(false);
    }

    /// <summary>Edit, pin or unpin, and retire, for a reviewer looking at an active lesson; nothing otherwise.</summary>
    public static Html ForLesson(DashboardContext d, Lesson lesson)
    {
        if (!d.CanReview || lesson.Status != LessonStatus.Active || lesson.IsRetired)
        {
            return Html.Empty;
        }

        var returnPath = H.Path("lessons", lesson.Id);
        var kinds = H.Join(Enum.GetValues<LessonKind>().Where(k => k != LessonKind.UserFact).Select(k => H.Of($"<option value=\"{k}\"{(k == lesson.Kind ? H.Of($" selected") : Html.Empty)}>{DashboardText.Kind(k)}</option>")));
        var labels = string.Join(", ", lesson.Scope.Labels.Select(l => $"{l.Key}={l.Value}"));
        var pin = lesson.Pinned
            ? DashboardForms.ReasonForm(d, H.Path("lessons", lesson.Id, "unpin"), "Unpin", "plain", returnPath, "why unpin (audited)", AdminFields(d), testId: "unpin")
            : DashboardForms.ReasonForm(d, H.Path("lessons", lesson.Id, "pin"), "Pin", "good", returnPath, "why pin (audited)", AdminFields(d), testId: "pin");
        return H.Of($"""
            <h2>Change it</h2>
            <form method="post" action="{H.Path("lessons", lesson.Id, "edit")}" class="card" data-testid="edit-lesson">
              {d.AntiforgeryField()}<input type="hidden" name="return" value="{returnPath}">
              <p><label>Text<br><textarea name="text" rows="3" cols="80" required maxlength="{LessonDraft.MaxTextLength}">{lesson.Text}</textarea></label></p>
              <p><label>Kind <select name="kind">{kinds}</select></label></p>
              {ScopeFields(labels, string.Join(", ", lesson.Scope.Tools))}
              {AdminFields(d)}
              <p><input type="text" name="reason" required maxlength="{DashboardForms.MaxReasonLength}" placeholder="why edit (audited)" aria-label="reason"> <button type="submit" class="good">Save a new version</button></p>
            </form>
            <div class="actions">
              {pin}
              {DashboardForms.ReasonForm(d, H.Path("lessons", lesson.Id, "retire"), "Retire", "danger", returnPath, "why retire (audited)", AdminFields(d, screen: false), testId: "retire")}
            </div>
            """);
    }

    public static Task<IResult> AddAsync(HttpContext http)
        => ChangeAsync(http, "/dashboard/lessons/new", AuditActions.LessonAuthored, (authoring, d, form, action) =>
        {
            var draft = new LessonDraft
            {
                Text = form["text"].ToString(),
                Kind = Kind(form) ?? LessonKind.Guideline,
                Labels = Labels(form),
                Tools = Tools(form),
                Pinned = form["pinned"] == "true",
            };
            return authoring.AddAsync(draft, action, d.Aborted);
        });

    public static Task<IResult> EditAsync(HttpContext http, string id)
        => ChangeAsync(http, H.Path("lessons", id), AuditActions.LessonEdited, async (authoring, d, form, action) =>
        {
            // Only what the person changed is changed: a field left as it was keeps the lesson's value.
            var current = await d.Store.GetLessonAsync(id, d.Aborted).ConfigureAwait(false);
            if (current is null || current.Scope.Tenant != d.Tenant)
            {
                throw new KeyNotFoundException($"No lesson '{id}' for tenant '{d.Tenant}'.");
            }

            var text = form["text"].ToString().Trim();
            var kind = Kind(form);
            var labels = Labels(form);
            var tools = Tools(form);
            var edit = new LessonEdit
            {
                Text = text.Length == 0 || text == current.Text ? null : text,
                Kind = kind == current.Kind ? null : kind,
                Labels = labels.Count == current.Scope.Labels.Count && labels.All(l => current.Scope.Labels.TryGetValue(l.Key, out var v) && v == l.Value) ? null : labels,
                Tools = tools.SequenceEqual(current.Scope.Tools, StringComparer.Ordinal) ? null : tools,
            };
            return await authoring.EditAsync(id, edit, action, d.Aborted).ConfigureAwait(false);
        });

    public static Task<IResult> PinAsync(HttpContext http, string id, bool pinned)
        => ChangeAsync(http, H.Path("lessons", id), pinned ? AuditActions.LessonPinned : AuditActions.LessonUnpinned, (authoring, d, form, action) => authoring.PinAsync(id, pinned, action, d.Aborted));

    public static Task<IResult> RetireAsync(HttpContext http, string id)
        => ChangeAsync(http, H.Path("lessons", id), AuditActions.LessonRetired, (authoring, d, form, action) => authoring.RetireAsync(id, action, d.Aborted));

    private static Task<IResult> ChangeAsync(HttpContext http, string fallback, string auditAction, Func<LessonAuthoring, DashboardContext, IFormCollection, AuthorAction, Task<AuthoringOutcome>> change)
        => DashboardActions.ActAsync(http, ApiKeyRole.Reviewer, "lessons", fallback, async (d, form, reason) =>
        {
            var overrideReason = form["override_reason"].ToString().Trim();
            var action = new AuthorAction(d.Caller.Actor, d.Caller.Role, reason)
            {
                ServeNow = form["serve_now"] == "true",
                OverrideReason = overrideReason.Length == 0 ? null : overrideReason.Length > MaxFieldLength ? throw new ArgumentException($"The override reason is at most {MaxFieldLength} characters.") : overrideReason,
            };
            var authoring = new LessonAuthoring(Api.AuthoringEndpoints.Pipeline(d.Runtimes, d.Tenant), d.Tenant);
            var outcome = await change(authoring, d, form, action).ConfigureAwait(false);
            await (await d.RuntimeAsync().ConfigureAwait(false)).RefreshAsync(d.Aborted).ConfigureAwait(false);
            var audit = await DashboardActions.LatestAuditAsync(d, auditAction, outcome.Lesson.Id).ConfigureAwait(false);
            return (audit, H.Path("lessons", outcome.Lesson.Id));
        });

    private static Html ScopeFields(string labels, string tools)
        => H.Of($"""
            <p><label>Labels (the lesson applies only where all match) <input type="text" name="labels" value="{labels}" maxlength="{MaxFieldLength}" placeholder="slice=refunds, region=eu" size="40"></label></p>
            <p><label>Tools (offered only to agents that have them) <input type="text" name="tools" value="{tools}" maxlength="{MaxFieldLength}" placeholder="refund_order, lookup_order" size="40"></label></p>
            """);

    /// <summary>Serve at once and override the content screen: fields shown to admins only (the engine refuses them from anyone else).</summary>
    private static Html AdminFields(DashboardContext d, bool screen = true)
        => !d.CanAdminister
            ? Html.Empty
            : H.Of($"""
                <label data-testid="serve-now"><input type="checkbox" name="serve_now" value="true"> serve at once, past the rollout policy</label>
                {(screen ? H.Of($"<input type=\"text\" name=\"override_reason\" maxlength=\"{MaxFieldLength}\" placeholder=\"override the content screen because… (admins)\" aria-label=\"override reason\" size=\"40\">") : Html.Empty)}
                """);

    private static LessonKind? Kind(IFormCollection form)
    {
        var text = form["kind"].ToString().Trim();
        return text.Length == 0 ? null : Lore.Learning.ReviewFilter.Parse(text, null, null, null).Kind;
    }

    private static Dictionary<string, string> Labels(IFormCollection form)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in form["labels"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0 || at == pair.Length - 1)
            {
                throw new ArgumentException($"Label '{pair}' must be written name=value (for example slice=refunds).");
            }

            labels[pair[..at].Trim()] = pair[(at + 1)..].Trim();
        }

        return labels;
    }

    private static List<string> Tools(IFormCollection form)
        => [.. form["tools"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal)];
}
