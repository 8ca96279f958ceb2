using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lore.Cli.Infrastructure;

namespace Lore.Cli.Demo;

/// <summary>What the key may do on the server, learned by asking rather than guessing from its text.</summary>
internal enum KeyAccess
{
    /// <summary>Admin: may run learning and promote.</summary>
    Admin,

    /// <summary>Agent or reviewer: may use the proxy and record outcomes, not learn or promote.</summary>
    NotAdmin,
}

/// <summary>The outcome of a learning pass requested through the API: the run and the snapshot it produced, if any.</summary>
internal sealed record LearnResult(string RunId, string? SnapshotId, int AddedLessons, int EpisodesRead);

/// <summary>The parts of the rollout the demo acts on.</summary>
internal sealed record RolloutView(string? StableSnapshotId, string? CandidateSnapshotId, string Stage, double CanaryShare, bool Frozen, string? FrozenReason);

/// <summary>
/// The few REST calls the proxy demo makes beside the OpenAI protocol (outcomes, learning, rollout), with every
/// failure turned into the one line a user can act on: unreachable server, rejected key, refused request.
/// </summary>
internal sealed class LoreServerClient : IDisposable
{
    /// <summary>How long a call waits for its answer, unless it says otherwise.</summary>
    private static readonly TimeSpan CallBudget = TimeSpan.FromSeconds(100);

    /// <summary>How long a learning pass may take: it reads every new episode, and a loaded machine (CI beside other work) makes it slow.</summary>
    private static readonly TimeSpan LearningBudget = TimeSpan.FromMinutes(15);

    private readonly HttpClient _http;

    public LoreServerClient(Uri baseAddress, string apiKey)
    {
        BaseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        // Each call has its own budget (SendAsync): a learning pass on a busy machine takes far longer than a lookup.
        _http = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public Uri BaseAddress { get; }

    /// <summary>Checks that Lore answers at the address and that it accepts the key; says whether the key is an admin's.</summary>
    public async Task<KeyAccess> CheckAsync(CancellationToken cancellationToken)
    {
        using (var health = await SendAsync(HttpMethod.Get, "healthz", null, "health check", cancellationToken, allowFailure: true).ConfigureAwait(false))
        {
            if (!health.IsSuccessStatusCode)
            {
                throw new CliException($"{BaseAddress} answered /healthz with {Status(health)}: is it a Lore server (lore serve)?");
            }
        }

        // Listing keys is the cheapest admin-only read: 200 for an admin, 403 for any other valid key, 401 for a bad one.
        using var keys = await SendAsync(HttpMethod.Get, "api/keys", null, "key check", cancellationToken, allowFailure: true).ConfigureAwait(false);
        return keys.StatusCode switch
        {
            HttpStatusCode.OK => KeyAccess.Admin,
            HttpStatusCode.Forbidden => KeyAccess.NotAdmin,
            HttpStatusCode.Unauthorized => throw new CliException($"the server at {BaseAddress} refused the key (401 Unauthorized): check --key (or LORE_API_KEY); lore serve prints a key the first time it starts on an empty store, 'lore keys create' makes more."),
            _ => throw new CliException($"key check: the server answered {Status(keys)}{await DetailAsync(keys, cancellationToken).ConfigureAwait(false)}"),
        };
    }

    /// <summary>Records the environment's verdict on an episode (which also ends an episode captured by the proxy).</summary>
    public async Task RecordOutcomeAsync(string episodeId, bool success, string comment, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["score"] = success ? 1 : 0, ["source"] = "environment", ["comment"] = comment };
        using var response = await SendAsync(HttpMethod.Post, $"api/episodes/{Uri.EscapeDataString(episodeId)}/outcomes", body, $"recording the outcome of {episodeId}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one learning pass on the server (admin).</summary>
    public async Task<LearnResult> LearnAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/learn", null, "learning", cancellationToken, budget: LearningBudget).ConfigureAwait(false);
        var run = (await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false))["run"]!;
        return new LearnResult(
            (string?)run["id"] ?? "",
            (string?)run["snapshotId"],
            run["addedLessonIds"] is JsonArray added ? added.Count : 0,
            (int?)run["episodesRead"] ?? 0);
    }

    public async Task<RolloutView> RolloutAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, "api/rollout", null, "reading the rollout", cancellationToken).ConfigureAwait(false);
        var state = (await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false))["state"]!;
        return new RolloutView(
            (string?)state["stableSnapshotId"],
            (string?)state["candidateSnapshotId"],
            (string?)state["stage"] ?? "none",
            (double?)state["canaryShare"] ?? 0,
            (bool?)state["frozen"] ?? false,
            (string?)state["frozenReason"]);
    }

    /// <summary>Promotes the candidate (admin); returns null when done, or the server's reason for refusing (frozen, nothing to promote).</summary>
    public async Task<string?> PromoteAsync(string reason, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/rollout/promote", new JsonObject { ["reason"] = reason }, "promoting", cancellationToken, allowFailure: true).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return null;
        }

        var detail = await DetailAsync(response, cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.Conflict
            ? detail.TrimStart(':', ' ')
            : throw new CliException($"promoting: the server answered {Status(response)}{detail}");
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, JsonNode? body, string what, CancellationToken cancellationToken, bool allowFailure = false, TimeSpan? budget = null)
    {
        var wait = budget ?? CallBudget;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(wait);
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, deadline.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"cannot reach Lore at {BaseAddress} ({what}): {e.Message} Is 'lore serve' running there?");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CliException($"Lore at {BaseAddress} did not answer within {wait.TotalSeconds:0} s ({what}).");
        }

        if (allowFailure || response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var detail = await DetailAsync(response, cancellationToken).ConfigureAwait(false);
            throw response.StatusCode == HttpStatusCode.Unauthorized
                ? new CliException($"{what}: the server refused the key (401 Unauthorized); check --key.")
                : new CliException($"{what}: the server answered {Status(response)}{detail}");
        }
    }

    private static async Task<JsonNode> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonNode.Parse(text) ?? throw new CliException($"{response.RequestMessage?.RequestUri}: the server answered with an empty JSON body.");
        }
        catch (JsonException e)
        {
            throw new CliException($"{response.RequestMessage?.RequestUri}: the server's answer is not JSON ({e.Message}).");
        }
    }

    /// <summary>The problem+json detail (or title) of a refused request, as ": detail", or "" when there is none.</summary>
    private static async Task<string> DetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (JsonNode.Parse(text) is JsonObject problem && ((string?)problem["detail"] ?? (string?)problem["title"]) is { Length: > 0 } detail)
            {
                return ": " + detail;
            }
        }
        catch (JsonException)
        {
            // Not problem+json: fall back to the start of the body below.
        }

        return text.Length == 0 ? "" : ": " + Output.Shorten(text, 200);
    }

    private static string Status(HttpResponseMessage response) => $"{(int)response.StatusCode} {response.ReasonPhrase}";
}
