using System.Text.Json;
using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Rollout;

/// <summary>
/// A runtime serving a stable support-desk snapshot, with a candidate snapshot stored beside it, and a scripted agent
/// behind <c>UseLore</c>: enough to watch what each arm is served and what it injects.
/// </summary>
internal sealed class RolloutScenario : IAsyncDisposable
{
    public const string RefundTask = "refund an order for a customer";

    private RolloutScenario(RuntimeHost host, Snapshot stable, Snapshot candidate)
    {
        Host = host;
        Stable = stable;
        Candidate = candidate;
        Model = new ScriptedAgentClient();
        Client = new ChatClientBuilder(Model).UseLore(host.Runtime).Build();
    }

    public RuntimeHost Host { get; }

    public LoreRuntime Runtime => Host.Runtime;

    public ILoreStore Store => Host.Store;

    public Snapshot Stable { get; }

    public Snapshot Candidate { get; }

    public ScriptedAgentClient Model { get; }

    public IChatClient Client { get; }

    /// <summary>The stable support desk, and a candidate that adds <paramref name="extra"/> (a second refund lesson by default).</summary>
    public static async Task<RolloutScenario> OpenAsync(IReadOnlyList<Lesson>? extra = null, Action<LoreOptions>? configure = null, IReadOnlyList<Lesson>? stableLessons = null)
    {
        var stable = Snapshot(stableLessons ?? SupportDesk(), reason: "stable");
        IReadOnlyList<Lesson> added = extra ?? [Lesson("les-refund-amount", "Read the refund amount back to the customer before refunding.", LessonTrigger.OnDescription(RefundTask))];
        var candidate = Snapshot([.. stable.Lessons, .. added], parent: stable.Id, reason: "candidate");
        var host = await RuntimeHost.OpenAsync([stable], configure);
        await host.Store.SaveSnapshotAsync(candidate);
        return new RolloutScenario(host, stable, candidate);
    }

    /// <summary>Runs one episode with one model call and returns it with the lessons section the model was sent (null: none).</summary>
    public async Task<(EpisodeScope Episode, string? Section)> RunAsync(string unit, string task = RefundTask, string slice = "refunds", Outcome? outcome = null)
    {
        var before = Model.Requests.Count;
        var episode = Runtime.BeginEpisode(task, new() { ["slice"] = slice }, unit);
        await using (episode)
        {
            await Client.GetResponseAsync([new ChatMessage(ChatRole.System, "You are a support agent."), new ChatMessage(ChatRole.User, task)], cancellationToken: TestContext.Current.CancellationToken);
            if (outcome is not null)
            {
                await episode.CompleteAsync(outcome, TestContext.Current.CancellationToken);
            }
        }

        var sent = Model.Requests[before];
        var section = sent.Where(m => m.Role == ChatRole.System).Select(m => m.Text).FirstOrDefault(t => t.StartsWith("<lore-lessons", StringComparison.Ordinal));
        return (episode, section);
    }

    /// <summary>The store's audit log, in order.</summary>
    public async Task<List<AuditEntry>> AuditAsync()
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in Store.ReadAuditAsync(0, TestContext.Current.CancellationToken))
        {
            entries.Add(entry);
        }

        return entries;
    }

    public static JsonElement Details(AuditEntry entry) => JsonDocument.Parse(entry.DetailsJson).RootElement;

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
