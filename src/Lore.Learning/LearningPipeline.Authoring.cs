using Lore.Learning.Guards;

namespace Lore.Learning;

// What people do by hand goes through the same screen and the same publication as what learning proposes.
public sealed partial class LearningPipeline
{
    private AdmissionGuard? _authoringGuard;

    /// <summary>
    /// The content screen a lesson written or edited by a person must pass: the tenant's admission policy's screen, or
    /// the default policy's when admission is off (a person's words are screened whatever learning is configured to do).
    /// </summary>
    internal ValueTask<ContentResult> ScreenAuthoredAsync(Lesson lesson, CancellationToken cancellationToken)
        => ScreeningGuard.ScreenAsync(lesson, evidenceHosts: null, cancellationToken);

    /// <summary>Cuts secrets and personal data out of what leaves the store (bundles).</summary>
    internal LessonRedactor Redactor => new(ScreeningGuard);

    private AdmissionGuard ScreeningGuard => _guard ?? (_authoringGuard ??= new AdmissionPolicy().Build(_options.Tools));

    /// <summary>
    /// Commits a person's change (lessons, their audit, the snapshot) in one transaction with the snapshot's publication
    /// under <paramref name="policy"/> (the tenant's rollout policy, or "at once" when an admin says so).
    /// </summary>
    internal Task<LearningCommitResult> PublishAuthoredAsync(LearningCommit commit, Snapshot? snapshot, string actor, string reason, RolloutPolicy policy, CancellationToken cancellationToken)
        => CommitAsync(commit, snapshot, actor, reason, cancellationToken, policy);
}

/// <summary>The content screen's redaction of secrets and personal data, for lessons and texts that leave the store.</summary>
internal sealed class LessonRedactor(AdmissionGuard guard)
{
    public Lesson Redact(Lesson lesson) => guard.RedactForStorage(lesson);

    public string RedactText(string text)
        => string.IsNullOrWhiteSpace(text)
            ? text
            : guard.RedactForStorage(new Lesson { Id = "les-redaction", Kind = LessonKind.Guideline, Text = text, Extractor = new ExtractorInfo("redaction", "1") }).Text;
}
