using System.Collections.Immutable;

namespace Lore.Testing;

/// <summary>Builds episodes for tests in a few readable lines.</summary>
public sealed class EpisodeBuilder
{
    private readonly List<Step> _steps = [];
    private readonly List<Outcome> _outcomes = [];
    private readonly string _id;
    private string _tenant = Tenants.Default;
    private string _unit = "unit-1";
    // Real traffic rarely repeats a task word for word; by default each episode is its own task (learning counts
    // evidence by distinct tasks), and tests about repeated trials say .Task(...) explicitly.
    private string? _task;
    private ImmutableSortedDictionary<string, string> _labels = ImmutableSortedDictionary<string, string>.Empty;
    private DateTimeOffset _start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public EpisodeBuilder(string id) => _id = id;

    public EpisodeBuilder Tenant(string tenant) { _tenant = tenant; return this; }

    public EpisodeBuilder Unit(string unit) { _unit = unit; return this; }

    public EpisodeBuilder Task(string task) { _task = task; return this; }

    public EpisodeBuilder StartedAt(DateTimeOffset at) { _start = at; return this; }

    public EpisodeBuilder Label(string key, string value) { _labels = _labels.SetItem(key, value); return this; }

    public EpisodeBuilder Tool(string name, string args = "{}", string result = "ok", bool? failed = null)
    {
        _steps.Add(Step.Tool(_steps.Count, name, args, result, callId: $"call_{_steps.Count}", failed: failed, at: _start.AddSeconds(_steps.Count)));
        return this;
    }

    public EpisodeBuilder ModelCall(string userText, string assistantText)
    {
        _steps.Add(new Step
        {
            Index = _steps.Count,
            Kind = StepKind.ModelCall,
            At = _start.AddSeconds(_steps.Count),
            Request = [new TrajectoryMessage { Role = "user", Text = userText }],
            Response = [new TrajectoryMessage { Role = "assistant", Text = assistantText }],
            Usage = new TokenUsage(10, 5),
            Latency = TimeSpan.FromMilliseconds(12),
        });
        return this;
    }

    public EpisodeBuilder Succeeded() { _outcomes.Add(Lore.Outcome.Success(at: _start.AddMinutes(1))); return this; }

    public EpisodeBuilder Failed() { _outcomes.Add(Lore.Outcome.Failure(at: _start.AddMinutes(1))); return this; }

    public EpisodeBuilder WithOutcome(Outcome outcome) { _outcomes.Add(outcome); return this; }

    public Episode Build() => new()
    {
        Id = _id,
        Tenant = _tenant,
        UnitKey = _unit,
        Task = _task ?? $"a task ({_id})",
        Labels = _labels,
        StartedAt = _start,
        EndedAt = _start.AddMinutes(1),
        Steps = _steps.ToArray(),
        Outcomes = _outcomes.ToArray(),
        Origin = "test",
    };
}
