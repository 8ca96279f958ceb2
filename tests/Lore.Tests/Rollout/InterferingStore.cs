using Lore.Testing;

namespace Lore.Tests.Rollout;

/// <summary>
/// A real store with a hook that runs just before each rollout save: the test makes "another host" change the rollout
/// there, so the save that follows carries a stale version and must lose the race, deterministically.
/// </summary>
internal sealed class InterferingStore(ILoreStore inner) : DelegatingLoreStore(inner)
{
    /// <summary>Runs before a rollout save reaches the store; receives the number of the save (from 1).</summary>
    public Func<int, Task>? BeforeSaveRollout { get; set; }

    public int RolloutSaves { get; private set; }

    public int Conflicts { get; private set; }

    public override async Task<RolloutState> SaveRolloutAsync(RolloutState state, long expectedVersion, CancellationToken cancellationToken = default)
    {
        var save = ++RolloutSaves;
        if (BeforeSaveRollout is { } hook)
        {
            await hook(save);
        }

        try
        {
            return await InnerStore.SaveRolloutAsync(state, expectedVersion, cancellationToken);
        }
        catch (StoreConflictException)
        {
            Conflicts++;
            throw;
        }
    }

    /// <summary>A commit that changes the rollout (a publication, an operator's change) is a rollout save too.</summary>
    public override async Task<LearningCommitResult> CommitLearningAsync(LearningCommit commit, CancellationToken cancellationToken = default)
    {
        if (commit.Rollout is null)
        {
            return await InnerStore.CommitLearningAsync(commit, cancellationToken);
        }

        var save = ++RolloutSaves;
        if (BeforeSaveRollout is { } hook)
        {
            await hook(save);
        }

        try
        {
            return await InnerStore.CommitLearningAsync(commit, cancellationToken);
        }
        catch (StoreConflictException)
        {
            Conflicts++;
            throw;
        }
    }
}
