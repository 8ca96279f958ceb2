namespace Lore.Evaluation;

/// <summary>An estimated difference in means and the estimated variance of that estimate.</summary>
internal readonly record struct DifferenceEstimate(double Effect, double Variance);

/// <summary>
/// The outcome of the test at one level: the two-sided p-value, the one-sided p-values of "the candidate is worse" and
/// "the candidate is better", and the two-sided interval for the difference.
/// </summary>
internal readonly record struct MixtureResult(double PValue, double Low, double High, double WorsePValue, double BetterPValue);

/// <summary>
/// The two-sample mixture sequential probability ratio test (mSPRT) on a difference of means, with a plug-in variance.
/// </summary>
/// <remarks>
/// <para>
/// Method: R. Johari, L. Pekelis and D. Walsh, "Always Valid Inference: Bringing Sequential Analysis to A/B Testing"
/// (arXiv:1512.04922, 2015), published with P. Koomen as "Always Valid Inference: Continuous Monitoring of A/B Tests",
/// Operations Research 70(3), 2022; the mixture likelihood ratio goes back to H. Robbins, "Statistical Methods Related
/// to the Law of the Iterated Logarithm" (1970). The estimated difference <c>D</c> with variance <c>V</c> is,
/// under the hypothesis of a true difference <c>theta</c>, approximately normal; its likelihood ratio against
/// <c>theta0</c>, mixed over <c>theta ~ N(theta0, tau^2)</c>, is
/// <code>
///   Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 (D - theta0)^2 / (2 V (V + tau^2)))
/// </code>
/// which, with equal arms of n episodes and per-pair variance sigma^2 (V = sigma^2 / n), is exactly the paper's
/// statistic. Lambda is (asymptotically, with the variance estimated) a nonnegative martingale with mean 1 under
/// theta0, so by Ville's inequality P(Lambda ever reaches 1/alpha) is at most alpha: the test may be looked at after
/// every episode without inflating its false-alarm rate. The always-valid p-value is min(1, 1/Lambda) and the
/// always-valid confidence interval is the set of theta0 that Lambda does not reject:
/// <code>
///   D +- sqrt(V (V + tau^2) / tau^2 * log((V + tau^2) / (V alpha^2)))
/// </code>
/// so the interval excludes 0 exactly when p is at most alpha.
/// </para>
/// <para>
/// The variance is the larger of the unpooled estimate (each arm's own variance) and the pooled one (both arms as one
/// population, the right estimate when there is no difference), each computed as if the arm had also seen one score of
/// 0 and one of 1. These pseudo-observations keep a young arm with all successes (or all failures) from claiming zero
/// variance, and their weight vanishes as episodes accumulate. Validity with an estimated variance is asymptotic, which
/// is why decisions wait for a minimum number of episodes per arm; the A/A tests and benchmark measure the actual
/// false-alarm rate.
/// </para>
/// <para>
/// Units: the rollout assigns arms by unit (a user, a session), and one unit's episodes resemble each other, so the
/// variance of an arm's mean is the cluster-robust (Liang-Zeger) one over units i with n_i episodes and score total
/// y_i: <c>G/(G-1) * sum_i (y_i - m n_i)^2 / N^2</c> (G units, N episodes, m the mean), computed from the arm's unit
/// sums. The variance used is the largest of the episode-level and the unit-level estimates, each unpooled and pooled,
/// so a test on independent episodes is unchanged and a test on clustered units is not overconfident.
/// </para>
/// <para>
/// One-sided tests: the normal mixture is the average of two half-normal mixtures, one over worse and one over better
/// differences, each itself a nonnegative martingale under no difference; the half over worse differences is
/// <c>Lambda_worse = 2 Lambda Phi(-tau D / sqrt(V (V + tau^2)))</c> (the posterior mass below 0). A decision acted on
/// in one direction only (rollback on "worse", promotion on "better") uses that half, at its full level.
/// </para>
/// </remarks>
internal static class MixtureSequentialTest
{
    /// <summary>
    /// The variance of one observation from an arm's sums, with one pseudo-observation of 0 and one of 1 added.
    /// </summary>
    public static double ObservationVariance(ArmOutcomes arm)
    {
        var n = arm.Episodes + 2.0;
        var sum = arm.SuccessSum + 1.0;
        var squares = arm.SquaredSum + 1.0;
        var variance = (squares - sum * sum / n) / (n - 1);

        // Mathematically positive (the two pseudo-observations differ); the floor only guards against rounding.
        return Math.Max(variance, 1e-12);
    }

    /// <summary>
    /// The cluster-robust variance of the arm's mean when every unit's episodes are centred on <paramref name="mean"/>:
    /// <c>G/(G-1) * sum_i (y_i - mean n_i)^2 / N^2</c>; 0 with fewer than two units (it cannot be estimated).
    /// </summary>
    public static double ClusterVariance(ArmOutcomes arm, double mean)
    {
        if (arm.Units < 2)
        {
            return 0;
        }

        var residuals = arm.UnitSquaredSum - 2 * mean * arm.UnitCrossSum + mean * mean * arm.UnitSizeSquaredSum;
        var episodes = (double)arm.Episodes;
        return Math.Max(0, residuals) * arm.Units / (arm.Units - 1.0) / (episodes * episodes);
    }

    /// <summary>
    /// The candidate's mean minus the baseline's, and the variance of that difference (the largest of the
    /// episode-level and unit-level estimates, unpooled and pooled); both arms need at least one episode.
    /// </summary>
    public static DifferenceEstimate Difference(ArmOutcomes baseline, ArmOutcomes candidate)
    {
        if (baseline.Episodes == 0 || candidate.Episodes == 0)
        {
            throw new ArgumentException("Both arms need at least one episode to estimate a difference.");
        }

        var inverseSizes = 1.0 / baseline.Episodes + 1.0 / candidate.Episodes;
        var unpooled = ObservationVariance(baseline) / baseline.Episodes + ObservationVariance(candidate) / candidate.Episodes;
        var pooled = ObservationVariance(baseline + candidate) * inverseSizes;
        var pooledMean = (baseline.SuccessSum + candidate.SuccessSum) / (baseline.Episodes + candidate.Episodes);
        var clusterUnpooled = ClusterVariance(baseline, baseline.Mean) + ClusterVariance(candidate, candidate.Mean);
        var clusterPooled = ClusterVariance(baseline, pooledMean) + ClusterVariance(candidate, pooledMean);
        var variance = Math.Max(Math.Max(unpooled, pooled), Math.Max(clusterUnpooled, clusterPooled));
        return new DifferenceEstimate(candidate.Mean - baseline.Mean, variance);
    }

    /// <summary>log Lambda for the hypothesis of no difference (theta0 = 0).</summary>
    public static double LogLikelihoodRatio(DifferenceEstimate estimate, double tau)
    {
        var v = estimate.Variance;
        var t2 = tau * tau;
        return 0.5 * Math.Log(v / (v + t2)) + t2 * estimate.Effect * estimate.Effect / (2 * v * (v + t2));
    }

    /// <summary>The half-width of the always-valid interval at level <paramref name="alpha"/>.</summary>
    public static double HalfWidth(DifferenceEstimate estimate, double tau, double alpha)
    {
        var v = estimate.Variance;
        var t2 = tau * tau;
        return Math.Sqrt(v * (v + t2) / t2 * (2 * Math.Log(1 / alpha) + Math.Log((v + t2) / v)));
    }

    /// <summary>The p-value and the interval (clipped to the possible range [-1, 1]) at level <paramref name="alpha"/>.</summary>
    public static MixtureResult Test(DifferenceEstimate estimate, double tau, double alpha)
    {
        var logRatio = LogLikelihoodRatio(estimate, tau);
        var pValue = Math.Min(1.0, Math.Exp(-logRatio));
        var half = HalfWidth(estimate, tau, alpha);
        var z = tau * estimate.Effect / Math.Sqrt(estimate.Variance * (estimate.Variance + tau * tau));
        var worse = Math.Min(1.0, Math.Exp(-(logRatio + Math.Log(2 * NormalCdf(-z)))));
        var better = Math.Min(1.0, Math.Exp(-(logRatio + Math.Log(2 * NormalCdf(z)))));
        return new MixtureResult(pValue, Math.Max(-1, estimate.Effect - half), Math.Min(1, estimate.Effect + half), worse, better);
    }

    /// <summary>The standard normal distribution function (W. J. Cody's erfc rational approximation via Numerical Recipes' erfcc, relative error below 1.2e-7).</summary>
    public static double NormalCdf(double x)
    {
        var z = Math.Abs(x) / Math.Sqrt(2);
        var t = 1.0 / (1.0 + 0.5 * z);
        var erfc = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851638 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - 0.5 * erfc : 0.5 * erfc;
    }
}
