namespace Lore;

/// <summary>
/// Names the kind of failure a failed episode shows, for users whose failures are not told apart by tool errors or an
/// outcome category (a model reading the transcript, a rule over the final answer). Its label becomes the episode's
/// failure mode after the same normalisation tool errors get, so ids and numbers in a label do not split a mode.
/// </summary>
public interface IFailureClassifier
{
    /// <summary>A short label for the failure of <paramref name="episode"/> (for example "refund without approval"), or null to fall back to the built-in signature.</summary>
    ValueTask<string?> ClassifyAsync(Episode episode, CancellationToken cancellationToken = default);
}
