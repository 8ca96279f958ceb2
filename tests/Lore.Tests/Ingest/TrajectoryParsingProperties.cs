using System.Text;
using System.Text.Json;
using CsCheck;
using Lore.Ingest;
using Lore.Testing;
using Xunit;

namespace Lore.Tests.Ingest;

public sealed class TrajectoryParsingProperties : IDisposable
{
    private static readonly string[] Tools = ["lookup_order", "refund_order", "think"];

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A turn: the user's text, then the assistant's tool calls (tool index, arguments text, failed?) and its reply.</summary>
    private sealed record Turn(string User, (int Tool, string Argument, bool Failed)[] Calls, string Reply);

    private static readonly Gen<string> Text = Gen.String[Gen.Char["ab xyz\"\\\n\té€{}[],:"], 0, 12];

    private static readonly Gen<Turn> TurnGen =
        Gen.Select(Text, Gen.Select(Gen.Int[0, 2], Text, Gen.Bool).Array[0, 3], Text, (u, c, r) => new Turn(u, c, r));

    private static readonly Gen<Turn[]> ConversationGen = TurnGen.Array[1, 4];

    private static string ToJson(Turn[] turns, int id)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", $"conv-{id}");
            w.WriteStartArray("messages");
            var call = 0;
            foreach (var turn in turns)
            {
                w.WriteStartObject();
                w.WriteString("role", "user");
                w.WriteString("content", turn.User);
                w.WriteEndObject();
                if (turn.Calls.Length > 0)
                {
                    w.WriteStartObject();
                    w.WriteString("role", "assistant");
                    w.WriteNull("content");
                    w.WriteStartArray("tool_calls");
                    for (var k = 0; k < turn.Calls.Length; k++)
                    {
                        w.WriteStartObject();
                        w.WriteString("id", $"call_{call + k}");
                        w.WriteString("type", "function");
                        w.WriteStartObject("function");
                        w.WriteString("name", Tools[turn.Calls[k].Tool]);
                        w.WriteString("arguments", JsonSerializer.Serialize(new { value = turn.Calls[k].Argument }));
                        w.WriteEndObject();
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                    foreach (var (tool, argument, failed) in turn.Calls)
                    {
                        w.WriteStartObject();
                        w.WriteString("role", "tool");
                        w.WriteString("tool_call_id", $"call_{call++}");
                        w.WriteString("name", Tools[tool]);
                        w.WriteString("content", failed ? $"Error: {argument} not found" : $"ok {argument}");
                        w.WriteEndObject();
                    }
                }

                w.WriteStartObject();
                w.WriteString("role", "assistant");
                w.WriteString("content", turn.Reply);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    [Fact]
    public void Every_assistant_message_becomes_a_model_call_and_every_tool_message_a_joined_tool_step()
    {
        SeededCheck.ForAll(ConversationGen, turns =>
        {
            using var document = JsonDocument.Parse(ToJson(turns, 1));
            var mapper = new TrajectoryRecordMapper("gen.jsonl", new ImportOptions(), DateTimeOffset.UnixEpoch);

            var episode = mapper.Map(new RawRecord(0, document.RootElement, 1));

            var calls = turns.SelectMany(t => t.Calls).ToArray();
            Assert.Equal(turns.Length + turns.Count(t => t.Calls.Length > 0), episode.Steps.Count(s => s.Kind == StepKind.ModelCall));
            Assert.Equal(Enumerable.Range(0, episode.Steps.Count), episode.Steps.Select(s => s.Index));
            var toolSteps = episode.Steps.Where(s => s.Kind == StepKind.ToolCall).ToArray();
            Assert.Equal(calls.Select(c => Tools[c.Tool]), toolSteps.Select(s => s.ToolName));
            Assert.Equal(calls.Select(c => c.Failed), toolSteps.Select(s => s.ToolFailed));
            Assert.Equal(calls.Select(c => c.Argument), toolSteps.Select(s => JsonDocument.Parse(s.ToolArguments!).RootElement.GetProperty("value").GetString()));
            Assert.Equal(turns[0].User, episode.Task);
            Assert.All(episode.Steps.Where(s => s.Kind == StepKind.ModelCall), s => Assert.DoesNotContain(s.Request, m => m.Role == "tool"));
        });
    }

    [Fact]
    public void Any_truncation_of_a_valid_array_file_is_rejected_with_a_format_error_naming_a_record_in_the_file()
    {
        var gen = Gen.Select(ConversationGen.Array[1, 3], Gen.Double[0, 1]);
        var sample = 0;
        SeededCheck.ForAll(gen, pair =>
        {
            var (conversations, cut) = pair;
            var text = "[" + string.Join(",\n", conversations.Select((c, i) => ToJson(c, i))) + "]";
            var bytes = Encoding.UTF8.GetBytes(text);
            var length = (int)(cut * (bytes.Length - 1));
            var file = _dir.File($"cut-{sample++}.json");
            File.WriteAllBytes(file, bytes[..length]);

            if (length == 0)
            {
                var empty = Assert.Throws<TrajectoryFormatException>(() => ReadAll(file));
                Assert.Contains("empty", empty.Message);
                return;
            }

            var error = Assert.Throws<TrajectoryFormatException>(() => ReadAll(file));
            Assert.StartsWith($"{Path.GetFileName(file)}: ", error.Message);
            Assert.InRange(error.Record ?? 0, 0, conversations.Length - 1);
        }, iterations: 150);
    }

    [Fact]
    public void The_whole_generated_file_reads_back_every_record_in_order()
    {
        SeededCheck.ForAll(ConversationGen.Array[1, 4], conversations =>
        {
            var file = _dir.File($"whole-{Guid.NewGuid():n}.jsonl");
            File.WriteAllLines(file, conversations.Select((c, i) => ToJson(c, i)));

            var episodes = ReadAll(file);

            Assert.Equal(conversations.Select((_, i) => $"conv-{i}"), episodes.Select(e => e.Id));
        }, iterations: 50);
    }

    private static List<Episode> ReadAll(string file)
    {
        using var stream = File.OpenRead(file);
        var layout = TrajectoryFileReader.DetectLayoutAsync(stream, Path.GetFileName(file), CancellationToken.None).GetAwaiter().GetResult();
        var mapper = new TrajectoryRecordMapper(Path.GetFileName(file), new ImportOptions(), DateTimeOffset.UnixEpoch);
        var episodes = new List<Episode>();
        var records = TrajectoryFileReader.ReadAsync(stream, layout, file, CancellationToken.None).GetAsyncEnumerator();
        try
        {
            while (records.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                episodes.Add(mapper.Map(records.Current));
            }
        }
        finally
        {
            records.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return episodes;
    }
}
