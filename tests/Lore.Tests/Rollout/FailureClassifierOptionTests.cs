using Lore.Sqlite;
using Lore.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace Lore.Tests.Rollout;

/// <summary>
/// <see cref="LoreOptions.FailureClassifier"/>: a classifier set in the options (or registered in DI) names the failure
/// modes the runtime's rollout monitor counts in the shared tally, reads the whole episode, and a classifier that fails
/// or hangs falls back to the built-in signature instead of stopping the episode from ending.
/// </summary>
public sealed class FailureClassifierOptionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Labels a failure by whether it was shown the episode's transcript, with a number that normalisation removes.</summary>
    private sealed class ToolLabelClassifier : IFailureClassifier
    {
        public List<Episode> Seen { get; } = [];

        public ValueTask<string?> ClassifyAsync(Episode episode, CancellationToken cancellationToken = default)
        {
            lock (Seen)
            {
                Seen.Add(episode);
            }

            var transcript = episode.Steps.Count > 0 ? "with" : "without";
            return ValueTask.FromResult<string?>($"wrong desk {transcript} a transcript, ticket {episode.Outcomes.Count + 1141}");
        }
    }

    private sealed class BrokenClassifier(bool hang) : IFailureClassifier
    {
        public async ValueTask<string?> ClassifyAsync(Episode episode, CancellationToken cancellationToken = default)
        {
            if (hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            throw new InvalidOperationException("the model endpoint is down");
        }
    }

    /// <summary>Runs canary episodes that all fail with the category "order_not_found"; returns the modes in the shared tally.</summary>
    private static async Task<IReadOnlyList<string>> TalliedModesAsync(Action<LoreOptions> configure)
    {
        await using var scenario = await RolloutScenario.OpenAsync(configure: configure);
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "alice", "canary", scenario.Candidate.Id, Ct);
        for (var i = 0; i < 6; i++)
        {
            await scenario.RunAsync($"user-{i}", outcome: new Outcome(0, OutcomeSource.Environment) { Category = "order_not_found" });
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        var tally = await scenario.Store.ReadRolloutFailureTallyAsync(Tenants.Default, scenario.Candidate.Id, Ct);
        return [.. tally.Select(r => r.FailureMode).Distinct(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task A_classifier_set_in_the_options_names_the_modes_the_canary_monitor_counts_from_the_whole_episode()
    {
        var classifier = new ToolLabelClassifier();
        var modes = await TalliedModesAsync(o => o.FailureClassifier = classifier);

        Assert.Equal(["label: wrong desk with a transcript, ticket <num>"], modes);
        Assert.NotEmpty(classifier.Seen);
        Assert.All(classifier.Seen, e => Assert.Contains(e.Steps, s => s.Kind == StepKind.ModelCall));
    }

    [Fact]
    public async Task Without_a_classifier_the_monitor_counts_the_built_in_signature()
    {
        Assert.Equal(["category: order not found"], await TalliedModesAsync(_ => { }));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_classifier_that_throws_or_hangs_falls_back_to_the_built_in_signature(bool hang)
    {
        var modes = await TalliedModesAsync(o =>
        {
            o.FailureClassifier = new BrokenClassifier(hang);
            o.FailureClassifierTimeout = TimeSpan.FromMilliseconds(200);
        });

        Assert.Equal(["category: order not found"], modes);
    }

    [Fact]
    public async Task FailureModeIfFailedAsync_asks_the_classifier_only_for_a_failed_episode()
    {
        var classifier = new ToolLabelClassifier();
        await using var scenario = await RolloutScenario.OpenAsync(configure: o => o.FailureClassifier = classifier);
        var succeeded = new Episode { Id = "ep-ok", Task = "t", StartedAt = DateTimeOffset.UnixEpoch, Outcomes = [Outcome.Success()] };
        var failed = succeeded with { Id = "ep-failed", Outcomes = [Outcome.Failure()] };

        Assert.Equal(FailureModes.IfFailed(succeeded), await scenario.Runtime.FailureModeIfFailedAsync(succeeded, Ct));
        Assert.Empty(classifier.Seen);
        Assert.Equal("label: wrong desk without a transcript, ticket <num>", await scenario.Runtime.FailureModeIfFailedAsync(failed, Ct));
    }

    [Fact]
    public void The_mode_an_episode_was_judged_with_wins_over_the_built_in_signature_until_a_later_judgement_names_another()
    {
        var failed = new Episode
        {
            Id = "ep-1",
            Task = "t",
            StartedAt = DateTimeOffset.UnixEpoch,
            Outcomes = [new Outcome(0, OutcomeSource.Environment) { Category = "order_not_found", FailureMode = "label: wrong desk" }],
        };

        Assert.Equal("label: wrong desk", FailureModes.Of(failed));
        Assert.Equal("category: handed to human", FailureModes.Of(failed with { Outcomes = [.. failed.Outcomes, new Outcome(0, OutcomeSource.User) { Category = "handed_to_human" }] }));
        Assert.Null(FailureModes.Of(failed with { Outcomes = [.. failed.Outcomes, Outcome.Success(), Outcome.Success()] }));
        Assert.Equal("category: order not found", FailureModes.Of(failed with { Outcomes = [failed.Outcomes[0] with { FailureMode = null }] }));
    }

    [Fact]
    public async Task A_failed_judgement_of_a_running_episode_is_stored_with_the_classifiers_mode_and_a_success_without_one()
    {
        var classifier = new ToolLabelClassifier();
        await using var scenario = await RolloutScenario.OpenAsync(configure: o => o.FailureClassifier = classifier);
        var episode = scenario.Runtime.BeginEpisode(RolloutScenario.RefundTask, new() { ["slice"] = "refunds" }, "user-1");
        await using (episode)
        {
            await scenario.Runtime.RecordOutcomeAsync(episode.Id, Outcome.Success(OutcomeSource.Evaluator), Ct);
            await scenario.Runtime.RecordOutcomeAsync(episode.Id, new Outcome(0, OutcomeSource.Environment) { Category = "order_not_found" }, Ct);
        }

        var stored = await scenario.Host.StoredEpisodeAsync(episode.Id);
        Assert.Equal([null, "label: wrong desk without a transcript, ticket <num>"], stored.Outcomes.Select(o => o.FailureMode));
        Assert.Equal("label: wrong desk without a transcript, ticket <num>", FailureModes.Of(stored));
        Assert.Single(classifier.Seen);
    }

    [Theory]
    [InlineData(50)]
    [InlineData(400_000)]
    public async Task A_classifier_timeout_out_of_range_is_refused_at_open_naming_the_option(int milliseconds)
    {
        using var directory = new TempDirectory();
        var options = new LoreOptions { Store = SqliteLoreStore.Open(directory.File("lore.db")), FailureClassifierTimeout = TimeSpan.FromMilliseconds(milliseconds) };
        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await LoreRuntime.OpenAsync(options, Ct));
        Assert.Contains("LoreOptions.FailureClassifierTimeout", error.Message, StringComparison.Ordinal);
        await options.Store.DisposeAsync();
    }

    [Fact]
    public async Task AddLore_takes_a_classifier_registered_in_the_container()
    {
        using var directory = new TempDirectory();
        var classifier = new ToolLabelClassifier();
        var services = new ServiceCollection();
        services.AddSingleton<IFailureClassifier>(classifier);
        services.AddLore(o => o.Store = SqliteLoreStore.Open(directory.File("lore.db")));
        await using var provider = services.BuildServiceProvider();
        Assert.Same(classifier, provider.GetRequiredService<IOptions<LoreOptions>>().Value.FailureClassifier);

        var runtime = await provider.StartLoreAsync(Ct);
        var failed = new Episode { Id = "ep-1", Task = "t", StartedAt = DateTimeOffset.UnixEpoch, Outcomes = [Outcome.Failure()] };
        Assert.StartsWith("label: ", await runtime.FailureModeIfFailedAsync(failed, Ct), StringComparison.Ordinal);
    }
}
