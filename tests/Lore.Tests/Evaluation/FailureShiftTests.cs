using CsCheck;
using Lore.Testing;
using Xunit;

namespace Lore.Tests.Evaluation;

public sealed class FailureShiftTests
{
    private static Episode Failed(params Step[] steps) => new()
    {
        Id = "e1",
        Steps = steps,
        Outcomes = [Outcome.Failure()],
    };

    [Fact]
    public void Tool_errors_that_differ_only_in_ids_and_amounts_share_one_failure_mode()
    {
        var a = FailureModes.Of(Failed(Step.Tool(0, "Lookup_Order", """{"id":"A1"}""", "Error: order 4WQ150 not found (refund of 250.00 pending)")));
        var b = FailureModes.Of(Failed(Step.Tool(0, "lookup_order", """{"id":"B2"}""", "Error: order 7ZX311 not found (refund of 1200 pending)")));

        Assert.NotNull(a);
        Assert.Equal(a, b);
        Assert.StartsWith("tool lookup_order: ", a, StringComparison.Ordinal);
        Assert.DoesNotContain("7ZX311", b, StringComparison.Ordinal);
    }

    [Fact]
    public void The_judges_category_names_the_mode_before_the_steps_and_a_reason_stands_in_for_a_missing_category()
    {
        var toolFailed = Step.Tool(0, "issue_refund", "{}", "Error: limit exceeded");
        var categorised = Failed(toolFailed) with { Outcomes = [new Outcome(0, OutcomeSource.User) { Category = "Wrong refund #4411", Reason = "refunded twice" }] };
        var reasoned = Failed(toolFailed) with { Outcomes = [new Outcome(0, OutcomeSource.User) { Reason = "Refunded 3 times" }] };

        Assert.Equal(FailureModes.Of(categorised with { Outcomes = [new Outcome(0, OutcomeSource.User) { Category = "wrong refund #12" }] }), FailureModes.Of(categorised));
        Assert.StartsWith("category: wrong refund", FailureModes.Of(categorised), StringComparison.Ordinal);
        Assert.StartsWith("reason: refunded", FailureModes.Of(reasoned), StringComparison.Ordinal);
    }

    [Fact]
    public void A_failure_without_tool_errors_names_the_last_state_changing_call_else_says_there_was_no_tool_error()
    {
        var afterTransfer = Failed(Step.Tool(0, "get_order", "{}", "ok"), Step.Tool(1, "transfer_to_human", "{}", "transferred"), Step.Tool(2, "get_user", "{}", "ok"));

        Assert.Equal("after transfer_to_human", FailureModes.Of(afterTransfer));
        Assert.Equal(FailureModes.NoToolError, FailureModes.Of(Failed(Step.Tool(0, "get_order", "{}", "ok"))));
        Assert.Null(FailureModes.Of(afterTransfer with { Outcomes = [Outcome.Success()] }));
        Assert.Null(FailureModes.Of(afterTransfer with { Outcomes = [] }));
    }

    private sealed class FixedClassifier(string? label) : IFailureClassifier
    {
        public ValueTask<string?> ClassifyAsync(Episode episode, CancellationToken cancellationToken = default) => ValueTask.FromResult(label);
    }

    [Fact]
    public async Task A_classifiers_label_wins_and_no_label_falls_back_to_the_built_in_signature()
    {
        var episode = Failed(Step.Tool(0, "issue_refund", "{}", "Error: limit exceeded"));

        Assert.Equal("label: promised a refund of <num> euros", await FailureModes.OfAsync(episode, new FixedClassifier("Promised a refund of 250 euros"), TestContext.Current.CancellationToken));
        Assert.Equal(FailureModes.Of(episode), await FailureModes.OfAsync(episode, new FixedClassifier(null), TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Counted_unit_sums_equal_the_sums_over_units_however_the_episodes_arrive()
    {
        var episodes = Gen.Select(Gen.Int[0, 1], Gen.Int[0, 2], Gen.Int[0, 6], Gen.Int[-1, 2]).Array[1, 60];
        SeededCheck.ForAll(episodes, draws =>
        {
            var counts = new FailureCounts();
            foreach (var (arm, slice, unit, mode) in draws)
            {
                counts.Add(arm == 1 ? RolloutArms.Candidate : RolloutArms.Baseline, "s" + slice, "u" + unit, mode < 0 ? null : "m" + mode);
            }

            foreach (var mode in counts.ModesInOrderSeen)
            {
                foreach (var arm in new[] { 0, 1 })
                {
                    var inArm = draws.Where(d => d.Item1 == arm).ToArray();
                    var units = inArm.GroupBy(d => d.Item3).Select(g => (N: (double)g.Count(), Y: (double)g.Count(d => "m" + d.Item4 == mode))).ToArray();
                    var outcomes = counts.ModeOutcomes(arm == 1 ? RolloutArms.Candidate : RolloutArms.Baseline, null, mode);
                    Assert.Equal(inArm.Length, outcomes.Episodes);
                    Assert.Equal(units.Length, outcomes.Units);
                    Assert.Equal(units.Sum(u => u.Y), outcomes.SuccessSum, 9);
                    Assert.Equal(units.Sum(u => u.Y * u.Y), outcomes.UnitSquaredSum, 9);
                    Assert.Equal(units.Sum(u => u.Y * u.N), outcomes.UnitCrossSum, 9);
                    Assert.Equal(units.Sum(u => u.N * u.N), outcomes.UnitSizeSquaredSum, 9);
                }
            }
        });
    }

    private static FailureCounts Traffic(int seed, int episodes, double newModeRate)
    {
        var random = new Random(seed);
        var counts = new FailureCounts();
        for (var i = 0; i < episodes; i++)
        {
            var candidate = random.NextDouble() < 0.5;
            var u = random.NextDouble();
            var mode = candidate && u < newModeRate ? "category: wrong refund"
                : u < 0.2 ? "tool lookup_order: order <id> not found"
                : u < 0.3 ? FailureModes.NoToolError
                : null;
            counts.Add(candidate ? RolloutArms.Candidate : RolloutArms.Baseline, i % 3 == 0 ? "refunds" : "billing", "u" + (i / 2), mode);
        }

        return counts;
    }

    [Fact]
    public void A_mode_seen_only_under_the_candidate_at_five_percent_is_reported_new_and_grown_with_an_interval_above_zero()
    {
        var shift = new FailureShiftAnalyzer().Analyze(Traffic(seed: 3, episodes: 6000, newModeRate: 0.05));

        var grown = Assert.Single(shift.Grown, g => g.Slice == SliceVerdict.Overall);
        Assert.Equal(("category: wrong refund", true, FailureModeChange.Grew), (grown.Mode, grown.IsNew, grown.Change));
        Assert.True(grown.Comparison.IntervalLow > 0, grown.Describe());
        Assert.True(grown.Comparison.PValue <= grown.Comparison.Alpha);
        Assert.True(shift.BlocksPromotion);
        Assert.False(shift.SevereGrowth);
        Assert.InRange(shift.Distance, shift.DistanceLow, shift.DistanceHigh);
        Assert.True(shift.DistanceLow > 0, "the distance's interval excludes no shift");
        Assert.Contains("shifted errors", shift.Verdict(null), StringComparison.Ordinal);
    }

    [Fact]
    public void With_no_change_in_any_mode_nothing_grows_and_the_levels_of_all_tests_sum_to_at_most_the_shift_alpha()
    {
        var policy = new EvaluationPolicy { FailureShiftAlpha = 0.05 };
        var shift = new FailureShiftAnalyzer(policy).Analyze(Traffic(seed: 5, episodes: 6000, newModeRate: 0));

        Assert.Empty(shift.Grown);
        Assert.False(shift.BlocksPromotion);
        Assert.Equal(2 * (1 + 2), shift.TestCount);
        Assert.True(shift.Modes.Sum(m => m.Comparison.Alpha) <= policy.FailureShiftAlpha + 1e-12);
        Assert.InRange(shift.Distance, shift.DistanceLow, shift.DistanceHigh);
        Assert.Equal(0, shift.DistanceLow);
    }

    [Fact]
    public void A_mode_marked_severe_by_its_category_is_recognised_in_its_normalised_form()
    {
        var analyzer = new FailureShiftAnalyzer(new EvaluationPolicy { SevereFailureModes = ["Wrong refund"] });
        var shift = analyzer.Analyze(Traffic(seed: 3, episodes: 6000, newModeRate: 0.05));

        Assert.True(analyzer.IsSevere("category: wrong refund"));
        Assert.True(shift.SevereGrowth);
    }

    [Fact]
    public void A_blank_severe_mode_is_refused_naming_the_option()
    {
        var error = Assert.Throws<ArgumentException>(() => new FailureShiftAnalyzer(new EvaluationPolicy { SevereFailureModes = [" "] }));
        Assert.Contains(nameof(EvaluationPolicy.SevereFailureModes), error.Message, StringComparison.Ordinal);
    }
}

public sealed class ChatFailureClassifierTests
{
    /// <summary>A model that answers every request with the same text and keeps what it was sent.</summary>
    private sealed class AnsweringClient(string answer) : Microsoft.Extensions.AI.IChatClient
    {
        public List<string> Sent { get; } = [];

        public Task<Microsoft.Extensions.AI.ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Sent.Add(string.Join("\n", messages.Select(m => m.Text)));
            return Task.FromResult(new Microsoft.Extensions.AI.ChatResponse(new Microsoft.Extensions.AI.ChatMessage(Microsoft.Extensions.AI.ChatRole.Assistant, answer)));
        }

        public IAsyncEnumerable<Microsoft.Extensions.AI.ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, Microsoft.Extensions.AI.ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private static readonly Episode Refunded = new()
    {
        Id = "e1",
        Task = "refund order 4411",
        Steps = [Step.Tool(0, "issue_refund", """{"order":"4411"}""", "ok")],
        Outcomes = [new Outcome(0, OutcomeSource.User) { Reason = "the refund needed a manager's approval" }],
    };

    [Fact]
    public async Task The_models_label_becomes_the_mode_normalised_and_the_model_sees_the_tool_calls_and_the_judges_reason()
    {
        var model = new AnsweringClient("\"Refund issued without approval.\"\nBecause the policy says so.");

        var mode = await FailureModes.OfAsync(Refunded, new ChatFailureClassifier(model), TestContext.Current.CancellationToken);

        Assert.Equal("label: refund issued without approval", mode);
        var sent = Assert.Single(model.Sent);
        Assert.Contains("tool issue_refund", sent, StringComparison.Ordinal);
        Assert.Contains("manager's approval", sent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_model_that_answers_none_leaves_the_built_in_signature()
    {
        var mode = await FailureModes.OfAsync(Refunded, new ChatFailureClassifier(new AnsweringClient("none")), TestContext.Current.CancellationToken);

        Assert.Equal("reason: the refund needed a manager's approval", mode);
    }
}
