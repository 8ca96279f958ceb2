using Lore.Sqlite;
using Lore.Testing;
using Xunit;

namespace Lore.Tests.Ingest;

public sealed class TrajectoryImporterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<List<Episode>> ReadAllAsync(ILoreStore store, string tenant = Tenants.Default)
    {
        var episodes = new List<Episode>();
        await foreach (var e in store.ReadEpisodesAsync(new EpisodeQuery { Tenant = tenant }, Ct))
        {
            episodes.Add(e);
        }

        return episodes;
    }

    [Fact]
    public async Task Import_of_the_tau_bench_sample_stores_40_episodes_with_every_step_and_reward()
    {
        var sample = SharedData.TauBenchOrSkip();
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));
        var options = new ImportOptions();
        options.Labels["slice"] = "airline";

        var result = await TrajectoryImporter.ImportFileAsync(sample, store, options, cancellationToken: Ct);

        // Counted independently with python: 579 assistant messages + 274 tool messages, 5 rewards of 1.0.
        Assert.Equal(new ImportResult(40, 853, "tau-bench/json-array"), result);
        var episodes = await ReadAllAsync(store);
        Assert.Equal(40, episodes.Count);
        Assert.Equal(853, episodes.Sum(e => e.Steps.Count));
        Assert.Equal(579, episodes.Sum(e => e.Steps.Count(s => s.Kind == StepKind.ModelCall)));
        Assert.Equal(274, episodes.Sum(e => e.Steps.Count(s => s.Kind == StepKind.ToolCall)));
        Assert.Equal(24, episodes.Sum(e => e.Steps.Count(s => s.ToolFailed)));
        Assert.Equal(5, episodes.Count(e => e.Succeeded == true));
        Assert.Equal(35, episodes.Count(e => e.Succeeded == false));
        Assert.All(episodes, e => Assert.Equal(OutcomeSource.Environment, Assert.Single(e.Outcomes).Source));
        Assert.All(episodes, e => Assert.NotNull(e.EndedAt));
        Assert.Equal(7, episodes.Select(e => e.UnitKey).Distinct().Count());
        Assert.Equal(8, episodes.Count(e => e.UnitKey == "omar_rossi_1241"));

        var first = Assert.Single(episodes, e => e.Labels["task_id"] == "0" && e.Labels["trial"] == "0");
        Assert.Equal("mia_li_3668", first.UnitKey);
        Assert.Equal("Hi! I'm looking to book a flight from New York to Seattle on May 20th.", first.Task);
        Assert.Equal("airline", first.Slice);
        Assert.Equal(0.0, first.Score);
        Assert.Equal(23, first.Steps.Count);
        Assert.Equal(Enumerable.Range(0, 23), first.Steps.Select(s => s.Index));

        // The first model call carries the system prompt and the opening user message.
        var call = first.Steps[0];
        Assert.Equal(StepKind.ModelCall, call.Kind);
        Assert.Equal(["system", "user"], call.Request.Select(m => m.Role));
        Assert.StartsWith("# Airline Agent Policy", call.Request[0].Text);

        // A tool step is joined to the call that asked for it: name, arguments and result.
        var lookup = first.Steps.First(s => s.Kind == StepKind.ToolCall);
        var asking = first.Steps.Last(s => s.Index < lookup.Index && s.Kind == StepKind.ModelCall);
        var request = Assert.Single(Assert.Single(asking.Response).ToolCalls);
        Assert.Equal("get_user_details", lookup.ToolName);
        Assert.Equal(request.CallId, lookup.ToolCallId);
        Assert.Equal("""{"user_id":"mia_li_3668"}""", lookup.ToolArguments);
        Assert.False(lookup.ToolFailed);

        var failed = Assert.Single(first.Steps, s => s.ToolFailed);
        Assert.Equal("book_reservation", failed.ToolName);
        Assert.Equal("Error: payment amount does not add up, total price is 305, but paid 255", failed.ToolResult);
    }

    [Fact]
    public async Task An_imported_outcomes_category_and_reason_become_the_episodes_failure_mode_and_a_blank_category_is_refused_by_name()
    {
        var file = _dir.File("judged.jsonl");
        var judged = Conversation(1).Replace("\"reward\":1", "\"outcome\":{\"score\":0,\"category\":\"wrong_refund\",\"reason\":\"refunded order 1 twice\"}", StringComparison.Ordinal);
        await File.WriteAllLinesAsync(file, [judged], Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));

        await TrajectoryImporter.ImportFileAsync(file, store, cancellationToken: Ct);

        var episode = Assert.Single(await ReadAllAsync(store));
        Assert.Equal(("wrong_refund", "refunded order 1 twice"), (episode.Outcomes[0].Category, episode.Outcomes[0].Reason));
        Assert.Equal("category: wrong refund", FailureModes.Of(episode));

        var blank = _dir.File("blank.jsonl");
        await File.WriteAllLinesAsync(blank, [Conversation(2).Replace("\"reward\":0", "\"outcome\":{\"score\":0,\"category\":\" \"}", StringComparison.Ordinal)], Ct);
        var error = await Assert.ThrowsAsync<TrajectoryFormatException>(() => TrajectoryImporter.ImportFileAsync(blank, store, cancellationToken: Ct));
        Assert.Equal("outcome.category", error.Field);
    }

    [Fact]
    public async Task Importing_the_same_file_twice_skips_every_record_and_adds_nothing()
    {
        var file = _dir.File("conversations.jsonl");
        await File.WriteAllLinesAsync(file, [Conversation(1), Conversation(2)], Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));
        await TrajectoryImporter.ImportFileAsync(file, store, cancellationToken: Ct);

        var again = await TrajectoryImporter.ImportFileAsync(file, store, cancellationToken: Ct);

        Assert.Equal((0, 2), (again.Episodes, again.Skipped));
        Assert.Equal(2, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task The_same_trajectories_under_another_file_name_and_layout_are_skipped_not_stored_twice()
    {
        var first = _dir.File("run-1.json");
        var second = _dir.File("copy-of-run-1.json");
        await File.WriteAllTextAsync(first, $"[{TauRecord(0, 1.0)},{TauRecord(1, 0.0)}]", Ct);

        // Same records, other whitespace and property order, plus one new record.
        var reordered = TauRecord(1, 0.0).Replace("{\"task_id\":1,\"trial\":0,", "{\"trial\":0,  \"task_id\":1,", StringComparison.Ordinal);
        await File.WriteAllTextAsync(second, $"[\n{TauRecord(0, 1.0)},\n{reordered},\n{TauRecord(2, 1.0)}\n]", Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));

        await TrajectoryImporter.ImportFileAsync(first, store, cancellationToken: Ct);
        var result = await TrajectoryImporter.ImportFileAsync(second, store, cancellationToken: Ct);

        Assert.Equal((1, 2), (result.Episodes, result.Skipped));
        Assert.Equal(3, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task The_same_id_with_other_content_is_refused_and_adds_nothing()
    {
        var file = _dir.File("conversations.jsonl");
        await File.WriteAllLinesAsync(file, [Conversation(1), Conversation(2)], Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));
        await TrajectoryImporter.ImportFileAsync(file, store, cancellationToken: Ct);
        var changed = _dir.File("changed.jsonl");
        await File.WriteAllLinesAsync(changed, [Conversation(3), Conversation(1).Replace("refund order 1", "refund order 99", StringComparison.Ordinal)], Ct);

        var error = await Assert.ThrowsAsync<TrajectoryFormatException>(() => TrajectoryImporter.ImportFileAsync(changed, store, cancellationToken: Ct));

        Assert.Contains("record 1", error.Message);
        Assert.Contains("already in the store with different content", error.Message);
        Assert.Equal(2, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Records_without_ids_get_the_same_derived_ids_on_every_read_of_the_same_file()
    {
        var file = _dir.File("anonymous.json");
        await File.WriteAllTextAsync(file, $"[{TauRecord(0, 1.0)},{TauRecord(1, 0.0)}]", Ct);
        await using var first = SqliteLoreStore.Open(_dir.File("a.db"));
        await using var second = SqliteLoreStore.Open(_dir.File("b.db"));

        await TrajectoryImporter.ImportFileAsync(file, first, cancellationToken: Ct);
        await TrajectoryImporter.ImportFileAsync(file, second, cancellationToken: Ct);

        var ids = (await ReadAllAsync(first)).Select(e => e.Id).ToArray();
        Assert.Equal(ids, (await ReadAllAsync(second)).Select(e => e.Id));
        Assert.Equal(2, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^tb-[0-9a-f]{16}$", id));
    }

    [Fact]
    public async Task A_jsonl_conversation_maps_model_calls_tool_calls_outcome_user_and_labels()
    {
        var file = _dir.File("chat.jsonl");
        await File.WriteAllTextAsync(file, """
            {"id":"conv-7","user":"u-42","labels":{"slice":"refunds","tier":3},"outcome":{"score":0.25,"source":"evaluator","comment":"partial"},"messages":[{"role":"system","content":"Be helpful."},{"role":"user","content":[{"type":"text","text":"refund order 1142"}]},{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"lookup_order","arguments":"{\"order\":1142}"}},{"id":"b","type":"function","function":{"name":"refund_order","arguments":"{\"order\":1142}"}}]},{"role":"tool","tool_call_id":"b","content":"Error: order 1142 needs a lookup first"},{"role":"tool","tool_call_id":"a","name":"lookup_order","content":"{\"total\":30}"},{"role":"assistant","content":"Refunded."},{"role":"user","content":"thanks"}]}

            {"messages":[{"role":"user","content":"hello"},{"role":"assistant","content":"hi"}],"reward":1,"user_id":"u-43"}
            """, Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));
        var options = new ImportOptions { Tenant = "acme" };
        options.Labels["source"] = "test";
        options.Labels["tier"] = "gold";

        var result = await TrajectoryImporter.ImportFileAsync(file, store, options, cancellationToken: Ct);

        Assert.Equal(new ImportResult(2, 5, "openai-messages/jsonl"), result);
        var episode = Assert.IsType<Episode>(await store.GetEpisodeAsync("conv-7", Ct));
        Assert.Equal("acme", episode.Tenant);
        Assert.Equal("u-42", episode.UnitKey);
        Assert.Equal("refund order 1142", episode.Task);
        Assert.Equal("refunds", episode.Labels["slice"]);
        Assert.Equal("gold", episode.Labels["tier"]);
        Assert.Equal("test", episode.Labels["source"]);
        var outcome = Assert.Single(episode.Outcomes);
        Assert.Equal((0.25, OutcomeSource.Evaluator, "partial"), (outcome.Score, outcome.Source, outcome.Comment));

        Assert.Equal([StepKind.ModelCall, StepKind.ToolCall, StepKind.ToolCall, StepKind.ModelCall], episode.Steps.Select(s => s.Kind));
        Assert.Equal(["system", "user"], episode.Steps[0].Request.Select(m => m.Role));
        Assert.Equal(["a", "b"], episode.Steps[0].Response[0].ToolCalls.Select(c => c.CallId));
        Assert.Equal(("refund_order", "b", true), (episode.Steps[1].ToolName, episode.Steps[1].ToolCallId, episode.Steps[1].ToolFailed));
        Assert.Equal(("lookup_order", """{"order":1142}""", false), (episode.Steps[2].ToolName, episode.Steps[2].ToolArguments, episode.Steps[2].ToolFailed));

        // Tool results are recorded by their tool steps, not repeated in the next request.
        Assert.Empty(episode.Steps[3].Request);
        Assert.Equal("Refunded.", episode.Steps[3].Response[0].Text);

        var second = Assert.Single(await ReadAllAsync(store, "acme"), e => e.Id != "conv-7");
        Assert.Equal("u-43", second.UnitKey);
        Assert.Equal(true, second.Succeeded);
    }

    [Fact]
    public async Task A_tau_bench_record_without_user_in_info_uses_the_user_id_argument_then_the_task()
    {
        var file = _dir.File("tau.json");
        var withArgument = """{"task_id":4,"trial":0,"reward":1,"info":{},"traj":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","function":{"name":"get_user","arguments":"{\"user_id\":\"ann_1\"}"}}]},{"role":"tool","tool_call_id":"c1","name":"get_user","content":"{}"}]}""";
        var withNothing = """{"task_id":5,"trial":1,"reward":0,"traj":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""";
        await File.WriteAllTextAsync(file, $"[{withArgument},\n{withNothing}]", Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));

        await TrajectoryImporter.ImportFileAsync(file, store, cancellationToken: Ct);

        var units = (await ReadAllAsync(store)).ToDictionary(e => e.Labels["task_id"], e => e.UnitKey);
        Assert.Equal("ann_1", units["4"]);
        Assert.Equal("task-5", units["5"]);
    }

    public static TheoryData<string, string, string, int?, string?> MalformedFiles => new()
    {
        {
            "bad-json.json",
            $"[{TauRecord(0, 1)},\n{{\"task_id\": 1, \"reward\": 1, \"traj\": [}}]",
            "record 1: invalid JSON at line 2",
            1, null
        },
        {
            "missing-reward.json",
            $$"""[{{TauRecord(0, 1)}},{"task_id":1,"trial":0,"traj":[]}]""",
            "record 1: reward is missing",
            1, "reward"
        },
        {
            "missing-role.jsonl",
            """{"messages":[{"role":"user","content":"a"},{"content":"b"}]}""",
            "record 0 (line 1): messages[1].role is missing",
            0, "messages[1].role"
        },
        {
            "arguments-object.json",
            """[{"task_id":0,"reward":0,"traj":[{"role":"user","content":"a"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","function":{"name":"f","arguments":{"x":1}}}]}]}]""",
            "record 0: traj[1].tool_calls[0].function.arguments is not a string (found an object)",
            0, "traj[1].tool_calls[0].function.arguments"
        },
        {
            "content-number.jsonl",
            "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":42}]}",
            "record 1 (line 2): messages[1].content is a number, expected a string, null or an array of content parts",
            1, "messages[1].content"
        },
        {
            "mixed.jsonl",
            $"{TauRecord(0, 1)}\n{Conversation(1)}",
            "record 1 (line 2): is a conversation (messages) but earlier records are tau-bench result (traj)s",
            1, null
        },
        {
            "truncated.json",
            $"[{TauRecord(0, 1)},{TauRecord(1, 0)[..60]}",
            "truncated",
            1, null
        },
        {
            "truncated.jsonl",
            $"{Conversation(1)}\n{Conversation(2)[..40]}",
            "record 1 (line 2): invalid JSON",
            1, null
        },
        {
            "unknown-shape.jsonl",
            """{"conversation":[]}""",
            "record 0 (line 1): unknown shape: expected 'traj'",
            0, null
        },
        {
            "unmatched-tool.jsonl",
            """{"messages":[{"role":"user","content":"a"},{"role":"tool","tool_call_id":"zz","content":"x"}]}""",
            "messages[1].tool_call_id 'zz' does not match any tool call",
            0, "messages[1].tool_call_id"
        },
        {
            "reward-range.json",
            """[{"task_id":0,"reward":3,"traj":[]}]""",
            "record 0: reward is 3, outside [0, 1]",
            0, "reward"
        },
        {
            "not-an-object.json",
            $"[{TauRecord(0, 1)}, 17]",
            "record 1: the record is a number, expected an object",
            1, null
        },
        {
            "empty.json",
            "",
            "the file is empty",
            null, null
        },
        {
            "blank.jsonl",
            "  \n\n  ",
            "the file is empty",
            null, null
        },
        {
            "empty-array.json",
            "[ ]",
            "holds no records",
            null, null
        },
        {
            "scalar.json",
            "42",
            "unknown layout",
            null, null
        },
    };

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public async Task Import_of_a_malformed_file_names_the_record_and_field_and_writes_nothing(string name, string content, string expected, int? record, string? field)
    {
        var file = _dir.File(name);
        await File.WriteAllTextAsync(file, content, Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));

        var error = await Assert.ThrowsAsync<TrajectoryFormatException>(() => TrajectoryImporter.ImportFileAsync(file, store, cancellationToken: Ct));

        Assert.Contains(expected, error.Message);
        Assert.StartsWith(name + ": ", error.Message);
        Assert.Equal(record, error.Record);
        Assert.Equal(field, error.Field);
        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task A_bad_record_after_many_good_ones_rolls_back_the_good_ones()
    {
        var file = _dir.File("late-error.jsonl");
        var lines = Enumerable.Range(0, 250).Select(Conversation).Append("""{"messages":"oops"}""");
        await File.WriteAllLinesAsync(file, lines, Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));
        var reported = new List<int>();

        var error = await Assert.ThrowsAsync<TrajectoryFormatException>(
            () => TrajectoryImporter.ImportFileAsync(file, store, progress: new SynchronousProgress(reported.Add), cancellationToken: Ct));

        Assert.Contains("record 250 (line 251): messages is a string, expected an array of messages", error.Message);
        Assert.Equal([100, 200], reported);
        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task A_file_above_the_size_limit_is_refused_before_reading()
    {
        var file = _dir.File("big.jsonl");
        await File.WriteAllLinesAsync(file, [Conversation(1)], Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));

        var error = await Assert.ThrowsAsync<TrajectoryFormatException>(
            () => TrajectoryImporter.ImportFileAsync(file, store, new ImportOptions { MaxFileBytes = 10 }, cancellationToken: Ct));

        Assert.Contains("larger than the 10-byte limit", error.Message);
        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task A_repeated_id_with_other_content_inside_one_file_is_refused()
    {
        var file = _dir.File("repeat.jsonl");
        await File.WriteAllLinesAsync(file, [Conversation(1), Conversation(1).Replace("\"reward\":1", "\"reward\":0", StringComparison.Ordinal)], Ct);
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));

        var error = await Assert.ThrowsAsync<TrajectoryFormatException>(() => TrajectoryImporter.ImportFileAsync(file, store, cancellationToken: Ct));

        Assert.Contains("record 1: id 'c-1' repeats the id of an earlier record", error.Message);
        Assert.Contains("with different content", error.Message);
        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    internal static string Conversation(int i) =>
        $$$"""{"id":"c-{{{i}}}","user":"u-{{{i % 3}}}","reward":{{{i % 2}}},"messages":[{"role":"user","content":"refund order {{{i}}}"},{"role":"assistant","content":null,"tool_calls":[{"id":"t{{{i}}}","type":"function","function":{"name":"refund_order","arguments":"{\"order\":{{{i}}}}"}}]},{"role":"tool","tool_call_id":"t{{{i}}}","name":"refund_order","content":"ok"},{"role":"assistant","content":"done"}]}""";

    internal static string TauRecord(int task, double reward) =>
        $$$"""{"task_id":{{{task}}},"trial":0,"reward":{{{reward}}},"info":{"task":{"user_id":"user_{{{task}}}"}},"traj":[{"role":"system","content":"policy"},{"role":"user","content":"I need help with task {{{task}}}"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_{{{task}}}","type":"function","function":{"name":"get_user_details","arguments":"{\"user_id\":\"user_{{{task}}}\"}"}}]},{"role":"tool","tool_call_id":"call_{{{task}}}","name":"get_user_details","content":"{}"},{"role":"assistant","content":"Done."}]}""";

    private sealed class SynchronousProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
