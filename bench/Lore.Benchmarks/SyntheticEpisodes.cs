using System.Collections.Immutable;

namespace Lore.Benchmarks;

/// <summary>
/// Seeded episodes shaped like a tool-using support agent's: model calls interleaved with tool calls, some tool
/// errors with recoveries, a missing-precondition pattern that fails more often, many units and four slices.
/// </summary>
internal static class SyntheticEpisodes
{
    private static readonly (string Slice, string Pre, string Main)[] Flows =
    [
        ("refunds", "lookup_order", "refund_order"),
        ("payments", "get_invoice", "pay_invoice"),
        ("bookings", "hold_seat", "book_flight"),
        ("account", "verify_identity", "update_address"),
    ];

    public static IEnumerable<Episode> Create(int count, int seed, string prefix = "ep")
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < count; i++)
        {
            var (slice, pre, main) = Flows[random.Next(Flows.Length)];
            var id = random.Next(1000, 9999);
            var steps = new List<Step>();
            var at = start.AddSeconds(i * 10);
            void Model(string text) => steps.Add(new Step
            {
                Index = steps.Count,
                Kind = StepKind.ModelCall,
                At = at,
                Request = [new TrajectoryMessage { Role = "user", Text = text }],
                Response = [new TrajectoryMessage { Role = "assistant", ToolCalls = [new ToolCallRequest($"c{steps.Count}", main, $$"""{"id":{{id}}}""")] }],
                Usage = new TokenUsage(120, 20),
                Latency = TimeSpan.FromMilliseconds(300),
            });

            Model($"Please handle {slice} request {id}");
            steps.Add(Step.Tool(steps.Count, "get_customer", $$"""{"customer":"user-{{i % 500}}"}""", "{\"name\":\"A\"}", at: at));
            var skipped = random.NextDouble() < 0.4;
            var success = true;
            if (skipped)
            {
                steps.Add(Step.Tool(steps.Count, main, $$"""{"id":{{id}}}""", $"Error: {slice} item {id} needs {pre} first", at: at));
                if (random.NextDouble() < 0.5)
                {
                    steps.Add(Step.Tool(steps.Count, pre, $$"""{"id":{{id}}}""", "{\"ok\":true}", at: at));
                    steps.Add(Step.Tool(steps.Count, main, $$"""{"id":{{id}}}""", "{\"ok\":true}", at: at));
                }
                else
                {
                    success = false;
                }
            }
            else
            {
                steps.Add(Step.Tool(steps.Count, pre, $$"""{"id":{{id}}}""", "{\"ok\":true}", at: at));
                steps.Add(Step.Tool(steps.Count, main, $$"""{"id":{{id}}}""", "{\"ok\":true}", at: at));
                success = random.NextDouble() < 0.95;
            }

            Model("Done?");
            yield return new Episode
            {
                Id = $"{prefix}-{i:D7}",
                UnitKey = $"user-{i % 500}",
                Task = $"Handle {slice} request {id} for the customer",
                Labels = ImmutableSortedDictionary<string, string>.Empty.Add("slice", slice),
                StartedAt = at,
                EndedAt = at.AddSeconds(5),
                Steps = steps,
                Outcomes = [success ? Outcome.Success(at: at.AddSeconds(5)) : Outcome.Failure(at: at.AddSeconds(5))],
                Origin = "bench",
            };
        }
    }
}
