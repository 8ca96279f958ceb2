using Lore.Learning.Extraction.Llm;
using Microsoft.Extensions.AI;

namespace Lore.Learning.Tests.Extraction;

public sealed class LlmLessonExtractorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Two user turns: a refund that fails then recovers (steps 0-3), then a question (steps 4-5).</summary>
    private static Episode RefundEpisode(string id = "ep-1", bool failed = false, string unit = "ann")
    {
        var builder = new EpisodeBuilder(id).Unit(unit).Task("refund order 1142")
            .ModelCall("refund order 1142", "")
            .Tool("refund_order", """{"order":1142}""", "Error: order 1142 must be looked up first")
            .Tool("lookup_order", """{"order":1142}""", "{\"total\":30}")
            .Tool("refund_order", """{"order":1142}""", "{\"ok\":true}")
            .ModelCall("and when does it arrive?", "in 3 days")
            .Tool("get_shipping", """{"order":1142}""", "{\"days\":3}");
        return (failed ? builder.Failed() : builder.Succeeded()).Build();
    }

    private static ExtractionBatch Batch(params Episode[] episodes) => new(Tenants.Default, episodes, episodes.Select(e => e.Id).ToHashSet());

    private const string ValidAnswer = """
        {"lessons":[
          {"kind":"tool_guide","text":"Look the order up with lookup_order before calling refund_order.","keywords":["refund","order"],"tools":["lookup_order","refund_order"],"segment":1,"steps":[1,2,3],"confidence":0.8,"rationale":"the refund failed until the order was looked up"},
          {"kind":"user_fact","text":"This customer asks about delivery times after a refund.","keywords":["delivery"],"segment":2,"steps":[5],"confidence":0.4}
        ]}
        """;

    [Fact]
    public async Task A_valid_answer_becomes_candidates_that_cite_their_episode_segment_and_steps()
    {
        var model = new ScriptedChatClient((_, _) => ValidAnswer);
        var extractor = new LlmLessonExtractor(model);

        var result = await extractor.ExtractAsync(Batch(RefundEpisode()), Ct);

        Assert.Equal((0, 2), (result.Rejected, result.Candidates.Count));
        var guide = result.Candidates[0];
        Assert.Equal(LessonKind.ToolGuide, guide.Kind);
        Assert.Equal("Look the order up with lookup_order before calling refund_order.", guide.Text);
        Assert.Equal(["refund", "order"], guide.Trigger.Keywords);
        Assert.Equal(["lookup_order", "refund_order"], guide.Scope.Tools);
        Assert.Null(guide.Scope.UnitKey);
        Assert.Equal(["ep-1"], guide.Evidence.EpisodeIds);
        Assert.Equal(["ep-1 steps 1,2,3"], guide.Evidence.Feedback);
        Assert.Equal(0.8, guide.Confidence);
        Assert.Equal(new ExtractorInfo("LlmLessonExtractor", LlmLessonExtractor.PromptVersion), guide.Extractor);
        Assert.StartsWith("Episode ep-1, segment 1 (steps 0-3), cited steps 1,2,3: the refund failed", guide.Rationale);

        var fact = result.Candidates[1];
        Assert.Equal(LessonKind.UserFact, fact.Kind);
        Assert.Equal("ann", fact.Scope.UnitKey);
        Assert.Contains(":ann:", fact.Key);

        // The request asks for JSON, carries the versioned prompt with the schema, and shows numbered segments.
        var (messages, options) = Assert.Single(model.Requests);
        Assert.Same(ChatResponseFormat.Json, options!.ResponseFormat);
        Assert.Contains(LlmLessonExtractor.PromptVersion, messages[0].Text);
        Assert.Contains("\"kind\": \"guideline\" | \"procedure\" | \"tool_guide\" | \"anti_pattern\" | \"user_fact\"", messages[0].Text);
        Assert.Contains("Segment 1 (steps 0-3), opened by the user: \"refund order 1142\"", messages[1].Text);
        Assert.Contains("[1] tool refund_order {\"order\":1142} -> FAILED: Error: order 1142 must be looked up first", messages[1].Text);
        Assert.Contains("Segment 2 (steps 4-5), opened by the user: \"and when does it arrive?\"", messages[1].Text);
        Assert.Contains("Outcome: succeeded (score 1)", messages[1].Text);
    }

    [Fact]
    public async Task The_same_advice_from_two_episodes_gets_the_same_key_so_its_evidence_can_unite()
    {
        var model = new ScriptedChatClient((_, _) => """{"lessons":[{"kind":"guideline","text":"Look up the order before refunding it.","keywords":["refund"],"segment":1,"steps":[1],"confidence":0.7}]}""");

        var result = await new LlmLessonExtractor(model).ExtractAsync(Batch(RefundEpisode("a"), RefundEpisode("b", unit: "bob")), Ct);

        Assert.Equal(2, result.Candidates.Count);
        Assert.Equal(result.Candidates[0].Key, result.Candidates[1].Key);
        Assert.NotEqual(result.Candidates[0].Evidence.EpisodeIds, result.Candidates[1].Evidence.EpisodeIds);
    }

    public static TheoryData<string, string> InvalidAnswers => new()
    {
        { "this is not json", "the answer is not valid JSON" },
        { """["a list"]""", "the answer is an array, expected an object" },
        { """{"lessons":[],"notes":"x"}""", "unexpected property 'notes'" },
        { """{"lessons":[{"kind":"rule","text":"Look up the order before refunding it.","keywords":["refund"],"segment":1,"steps":[1],"confidence":0.7}]}""", "lessons[0].kind: must be one of guideline, procedure, tool_guide, anti_pattern, user_fact" },
        { """{"lessons":[{"kind":"guideline","text":"Short.","keywords":["refund"],"segment":1,"steps":[1],"confidence":0.7}]}""", "lessons[0].text: must be a string of 12 to 300 characters" },
        { $$"""{"lessons":[{"kind":"guideline","text":"{{new string('x', 301)}}","keywords":["refund"],"segment":1,"steps":[1],"confidence":0.7}]}""", "lessons[0].text: must be a string of 12 to 300 characters" },
        { """{"lessons":[{"kind":"guideline","text":"Look up the order before refunding it.","keywords":[],"segment":1,"steps":[1],"confidence":0.7}]}""", "lessons[0].keywords: must be 1 to 8 strings" },
        { """{"lessons":[{"kind":"guideline","text":"Look up the order before refunding it.","keywords":["refund"],"segment":7,"steps":[1],"confidence":0.7}]}""", "lessons[0].segment: 7 is not one of the segments shown (1, 2)" },
        { """{"lessons":[{"kind":"guideline","text":"Look up the order before refunding it.","keywords":["refund"],"segment":1,"steps":[5],"confidence":0.7}]}""", "lessons[0].steps[0]: step 5 is outside segment 1 (steps 0-3)" },
        { """{"lessons":[{"kind":"guideline","text":"Look up the order before refunding it.","keywords":["refund"],"segment":1,"steps":[1,1],"confidence":0.7}]}""", "lessons[0].steps[1]: step 1 is listed twice" },
        { """{"lessons":[{"kind":"guideline","text":"Look up the order before refunding it.","keywords":["refund"],"tools":["get_shipping"],"segment":1,"steps":[1],"confidence":0.7}]}""", "lessons[0].tools: 'get_shipping' is not called in segment 1" },
        { """{"lessons":[{"kind":"guideline","text":"Look up the order before refunding it.","keywords":["refund"],"segment":1,"steps":[1],"confidence":1.5}]}""", "lessons[0].confidence: must be a number from 0 to 1" },
        { """{"lessons":[{"kind":"guideline","text":"Look up the order before refunding it.","keywords":["refund"],"segment":1,"steps":[1]}]}""", "lessons[0].confidence: is missing" },
        { """{"lessons":[{"kind":"guideline","text":"Look up the order before refunding it.","keywords":["refund"],"segment":1,"steps":[1],"confidence":0.5,"priority":"high"}]}""", "lessons[0]: unexpected property 'priority'" },
    };

    [Theory]
    [MemberData(nameof(InvalidAnswers))]
    public async Task An_invalid_answer_is_rejected_and_counted_with_its_reason(string answer, string reason)
    {
        var model = new ScriptedChatClient((_, _) => answer);

        var result = await new LlmLessonExtractor(model).ExtractAsync(Batch(RefundEpisode()), Ct);

        Assert.Empty(result.Candidates);
        Assert.Equal(1, result.Rejected);
        var sample = Assert.Single(result.RejectionSamples!);
        Assert.StartsWith("episode ep-1, segments 1-2: ", sample);
        Assert.Contains(reason, sample);
    }

    [Fact]
    public async Task A_partly_valid_answer_is_rejected_whole_never_half_used()
    {
        var partly = """
            {"lessons":[
              {"kind":"guideline","text":"Look up the order before refunding it.","keywords":["refund"],"segment":1,"steps":[1],"confidence":0.7},
              {"kind":"guideline","text":"Tell the user when the parcel arrives.","keywords":["delivery"],"segment":2,"steps":[99],"confidence":0.7}
            ]}
            """;
        var model = new ScriptedChatClient((_, call) => call == 0 ? partly : ValidAnswer);

        var result = await new LlmLessonExtractor(model, new LlmLessonExtractorOptions { MaxConcurrency = 1 }).ExtractAsync(Batch(RefundEpisode("a"), RefundEpisode("b")), Ct);

        Assert.Equal(1, result.Rejected);
        Assert.Contains("lessons[1].steps[0]: step 99 is outside segment 2 (steps 4-5)", Assert.Single(result.RejectionSamples!));
        Assert.Equal(2, result.Candidates.Count);
        Assert.DoesNotContain(result.Candidates, c => c.Text == "Look up the order before refunding it.");
    }

    [Fact]
    public async Task A_fenced_json_answer_is_accepted_and_a_failing_model_is_counted()
    {
        var fenced = new ScriptedChatClient((_, _) => "```json\n" + ValidAnswer + "\n```");
        var fencedResult = await new LlmLessonExtractor(fenced).ExtractAsync(Batch(RefundEpisode()), Ct);
        Assert.Equal(2, fencedResult.Candidates.Count);

        var broken = new ScriptedChatClient((_, _) => throw new HttpRequestException("503 from the model endpoint"));
        var brokenResult = await new LlmLessonExtractor(broken).ExtractAsync(Batch(RefundEpisode()), Ct);
        Assert.Equal(1, brokenResult.Rejected);
        Assert.Contains("the request failed: HttpRequestException: 503 from the model endpoint", Assert.Single(brokenResult.RejectionSamples!));
    }

    [Fact]
    public async Task Only_new_episodes_are_read_failed_ones_first_up_to_the_limit()
    {
        var model = new ScriptedChatClient((_, _) => """{"lessons":[]}""");
        var old = RefundEpisode("old", failed: true);
        var fine = RefundEpisode("fine");
        var bad = RefundEpisode("bad", failed: true);
        var batch = new ExtractionBatch(Tenants.Default, [old, fine, bad], new HashSet<string> { "fine", "bad" });

        var result = await new LlmLessonExtractor(model, new LlmLessonExtractorOptions { MaxEpisodes = 1 }).ExtractAsync(batch, Ct);

        Assert.Equal((0, 0), (result.Candidates.Count, result.Rejected));
        Assert.Contains("Outcome: failed", Assert.Single(model.Requests).Messages[1].Text);
    }

    [Fact]
    public async Task A_long_trajectory_is_cut_into_subtasks_and_sent_in_several_requests_that_each_cite_their_own_segments()
    {
        var builder = new EpisodeBuilder("long").Unit("ann");
        for (var turn = 0; turn < 12; turn++)
        {
            builder.ModelCall($"request number {turn}: " + new string('x', 300), "");
            builder.Tool("lookup_order", $$"""{"order":{{turn}}}""", new string('r', 500));
        }

        var episode = builder.Succeeded().Build();
        var model = new ScriptedChatClient((messages, _) =>
        {
            // Cite the first segment this request shows.
            var text = messages[1].Text;
            var at = text.IndexOf("Segment ", StringComparison.Ordinal) + "Segment ".Length;
            var number = int.Parse(text[at..text.IndexOf(' ', at)], System.Globalization.CultureInfo.InvariantCulture);
            var step = (number - 1) * 2;
            return $$"""{"lessons":[{"kind":"guideline","text":"Check the order with lookup_order first.","keywords":["order"],"segment":{{number}},"steps":[{{step}},{{step + 1}}],"confidence":0.6}]}""";
        });

        var result = await new LlmLessonExtractor(model, new LlmLessonExtractorOptions { MaxPromptCharacters = 3000, MaxConcurrency = 1 }).ExtractAsync(Batch(episode), Ct);

        Assert.True(model.Requests.Count >= 3, $"{model.Requests.Count} requests");
        Assert.Equal(0, result.Rejected);
        Assert.Equal(model.Requests.Count, result.Candidates.Count);
        Assert.All(model.Requests, r => Assert.InRange(r.Messages[1].Text!.Length, 1, 3000 + 1200));
        var segmentsShown = model.Requests.Sum(r => r.Messages[1].Text!.Split("Segment ").Length - 1);
        Assert.Equal(12, segmentsShown);
    }

    [Fact]
    public async Task The_tau_bench_sample_segments_by_user_turn_and_splits_long_turns_between_tool_clusters()
    {
        var episodes = await TauBenchSample.EpisodesAsync();
        var booking = TauBenchSample.Find(episodes, 0, 0);
        var change = TauBenchSample.Find(episodes, 3, 0);

        // Counted independently from the raw file: task 0 trial 0 has 7 user turns answered by the agent, with
        // 1, 1, 5, 3, 3, 7 and 3 steps; task 3 trial 0 has 10, one of them 17 steps long.
        Assert.Equal([1, 1, 5, 3, 3, 7, 3], TrajectorySegmenter.Segment(booking, 30).Select(s => s.Steps.Count));
        Assert.Equal([1, 1, 17, 5, 7, 1, 3, 5, 7, 3], TrajectorySegmenter.Segment(change, 30).Select(s => s.Steps.Count));

        // With at most 10 steps the 17-step turn (eight model calls with one tool call each, then a closing model
        // call) splits between clusters into 10 and 7.
        var split = TrajectorySegmenter.Segment(change, 10);
        Assert.Equal([1, 1, 10, 7, 5, 7, 1, 3, 5, 7, 3], split.Select(s => s.Steps.Count));
        Assert.Equal(change.Steps.Select(s => s.Index), split.SelectMany(s => s.Steps).Select(s => s.Index));
        Assert.All(split, s => Assert.Equal(StepKind.ModelCall, s.Steps[0].Kind));
        Assert.Null(split[3].OpeningUserText);
        Assert.NotNull(split[2].OpeningUserText);
        Assert.Equal(Enumerable.Range(1, split.Count), split.Select(s => s.Number));
    }
}
