using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Lore.Learning.Extraction.Llm;
using Lore.Learning.Text;
using Microsoft.Extensions.AI;

namespace Lore.Learning;

/// <summary>Limits of the <see cref="LlmLessonExtractor"/>: how much it sends to the model per run and per request.</summary>
public sealed class LlmLessonExtractorOptions
{
    /// <summary>At most this many new episodes are read per run (failed ones first, then the newest).</summary>
    public int MaxEpisodes { get; set; } = 50;

    /// <summary>A subtask longer than this many steps is split between tool-call clusters.</summary>
    public int MaxSegmentSteps { get; set; } = 30;

    /// <summary>Segments are packed into one request up to about this many characters of trajectory.</summary>
    public int MaxPromptCharacters { get; set; } = 24_000;

    /// <summary>A single message or tool result is shortened to this many characters in the prompt.</summary>
    public int MaxMessageCharacters { get; set; } = 600;

    /// <summary>At most this many lessons per answer; an answer with more is rejected.</summary>
    public int MaxLessonsPerRequest { get; set; } = 5;

    /// <summary>Requests in flight at once.</summary>
    public int MaxConcurrency { get; set; } = 2;

    /// <summary>Options passed with every request (model id, temperature); the response format is always JSON.</summary>
    public ChatOptions? ChatOptions { get; set; }

    /// <summary>Throws naming the first option that is out of range.</summary>
    public LlmLessonExtractorOptions Validate()
    {
        if (MaxEpisodes < 1) throw new ArgumentOutOfRangeException(nameof(MaxEpisodes), MaxEpisodes, "MaxEpisodes must be at least 1.");
        if (MaxSegmentSteps < 1) throw new ArgumentOutOfRangeException(nameof(MaxSegmentSteps), MaxSegmentSteps, "MaxSegmentSteps must be at least 1.");
        if (MaxPromptCharacters < 1000) throw new ArgumentOutOfRangeException(nameof(MaxPromptCharacters), MaxPromptCharacters, "MaxPromptCharacters must be at least 1000.");
        if (MaxMessageCharacters < 40) throw new ArgumentOutOfRangeException(nameof(MaxMessageCharacters), MaxMessageCharacters, "MaxMessageCharacters must be at least 40.");
        if (MaxLessonsPerRequest < 1) throw new ArgumentOutOfRangeException(nameof(MaxLessonsPerRequest), MaxLessonsPerRequest, "MaxLessonsPerRequest must be at least 1.");
        if (MaxConcurrency < 1) throw new ArgumentOutOfRangeException(nameof(MaxConcurrency), MaxConcurrency, "MaxConcurrency must be at least 1.");
        return this;
    }
}

/// <summary>
/// Asks a model (any <see cref="IChatClient"/>) what reusable lessons new episodes teach. Each trajectory is first cut
/// into subtasks (user turns, long turns split between tool-call clusters) and shown with numbered steps, so every
/// lesson must cite the segment and steps that show it. The answer must be JSON matching the schema in the versioned
/// prompt; an answer that breaks any rule (unknown kind, text too long, a step outside the cited segment, a tool the
/// segment never called, an extra property...) is rejected whole and counted with its reason, never half-used.
/// </summary>
public sealed class LlmLessonExtractor : ILessonExtractor
{
    /// <summary>The prompt's version, recorded on every lesson it produces so a bad prompt's lessons can be found.</summary>
    public const string PromptVersion = "lessons-1";

    internal const string KeyPrefix = "llm:";

    private const int MaxRejectionSamples = 5;

    private readonly IChatClient _client;
    private readonly LlmLessonExtractorOptions _options;
    private readonly LessonResponseSchema _schema;

    /// <summary>An extractor that asks <paramref name="client"/> (any model behind <see cref="IChatClient"/>) to propose lessons.</summary>
    public LlmLessonExtractor(IChatClient client, LlmLessonExtractorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = (options ?? new LlmLessonExtractorOptions()).Validate();
        _schema = new LessonResponseSchema(_options.MaxLessonsPerRequest);
    }

    /// <inheritdoc />
    public ExtractorInfo Info { get; } = new(nameof(LlmLessonExtractor), PromptVersion);

    /// <inheritdoc />
    public async Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var episodes = batch.Episodes
            .Select((episode, position) => (episode, position))
            .Where(p => batch.NewEpisodeIds.Contains(p.episode.Id) && p.episode.Steps.Count > 0)
            .OrderBy(p => p.episode.Succeeded == false ? 0 : 1)
            .ThenByDescending(p => p.position)
            .Take(_options.MaxEpisodes)
            .Select(p => p.episode)
            .ToArray();

        var requests = episodes.SelectMany(e => Requests(e)).ToArray();
        var outcomes = new RequestOutcome[requests.Length];
        using var gate = new SemaphoreSlim(_options.MaxConcurrency);
        await Task.WhenAll(requests.Select(async (request, i) =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                outcomes[i] = await AskAsync(request, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);

        var candidates = new List<LessonCandidate>();
        var rejected = 0;
        var samples = new List<string>();
        for (var i = 0; i < requests.Length; i++)
        {
            var (lessons, problem) = outcomes[i];
            if (problem is not null)
            {
                rejected++;
                if (samples.Count < MaxRejectionSamples)
                {
                    samples.Add($"episode {requests[i].Episode.Id}, segments {requests[i].Segments[0].Number}-{requests[i].Segments[^1].Number}: {problem}");
                }

                continue;
            }

            candidates.AddRange(lessons.Select(l => ToCandidate(batch.Tenant, requests[i].Episode, l)));
        }

        return new ExtractionResult(candidates, rejected, samples);
    }

    private sealed record Request(Episode Episode, IReadOnlyList<TrajectorySegment> Segments, string Prompt);

    private readonly record struct RequestOutcome(IReadOnlyList<ProposedLesson> Lessons, string? Problem);

    /// <summary>The requests for one episode: its segments packed in order up to the prompt budget.</summary>
    private IEnumerable<Request> Requests(Episode episode)
    {
        var segments = TrajectorySegmenter.Segment(episode, _options.MaxSegmentSteps);
        var header = Header(episode);
        var pack = new List<TrajectorySegment>();
        var body = new StringBuilder();
        foreach (var segment in segments)
        {
            var text = Render(segment);
            if (pack.Count > 0 && header.Length + body.Length + text.Length > _options.MaxPromptCharacters)
            {
                yield return new Request(episode, pack, header + body);
                pack = [];
                body.Clear();
            }

            pack.Add(segment);
            body.Append(text);
        }

        if (pack.Count > 0)
        {
            yield return new Request(episode, pack, header + body);
        }
    }

    private async Task<RequestOutcome> AskAsync(Request request, CancellationToken cancellationToken)
    {
        var options = _options.ChatOptions?.Clone() ?? new ChatOptions();
        options.ResponseFormat = ChatResponseFormat.Json;
        string answer;
        try
        {
            var response = await _client.GetResponseAsync(
                [new ChatMessage(ChatRole.System, SystemPrompt()), new ChatMessage(ChatRole.User, request.Prompt)],
                options,
                cancellationToken).ConfigureAwait(false);
            answer = response.Text;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new RequestOutcome([], $"the request failed: {e.GetType().Name}: {e.Message}");
        }

        return _schema.TryValidate(answer, request.Segments, out var lessons, out var problem)
            ? new RequestOutcome(lessons, null)
            : new RequestOutcome([], problem);
    }

    private LessonCandidate ToCandidate(string tenant, Episode episode, ProposedLesson lesson)
    {
        var canonical = string.Join(" ", Tokens.ContentSet(lesson.Text).Order(StringComparer.Ordinal));
        var kindName = lesson.Kind.ToString();
        var unit = lesson.Kind == LessonKind.UserFact ? episode.UnitKey : null;
        var key = unit is null ? $"{KeyPrefix}{kindName}:{Hash(canonical)}" : $"{KeyPrefix}{kindName}:{unit}:{Hash(canonical)}";
        var steps = string.Join(",", lesson.Steps);
        return new LessonCandidate
        {
            Key = key,
            Kind = lesson.Kind,
            Text = lesson.Text,
            Trigger = LessonTrigger.OnKeywords([.. lesson.Keywords]),
            Scope = new LessonScope { Tenant = tenant, UnitKey = unit, Tools = lesson.Tools },
            Evidence = new LessonEvidence
            {
                EpisodeIds = [episode.Id],
                EpisodeCount = 1,
                Support = 1,
                Feedback = [$"{episode.Id} steps {steps}"],

                // The episode shows the advice working only when it succeeded; the store counts sources and tasks.
                ExemplarEpisodeIds = episode.Succeeded == true ? [episode.Id] : [],
            },
            Confidence = lesson.Confidence,
            Extractor = Info,
            Rationale = $"Episode {episode.Id}, segment {lesson.Segment.Number} (steps {lesson.Segment.FirstStep}-{lesson.Segment.LastStep}), cited steps {steps}: {lesson.Rationale ?? "(no rationale given)"}",
        };
    }

    private string SystemPrompt() =>
        $"""
        You review one episode of an AI agent at work and write down lessons that would help the same agent on future,
        different tasks (prompt {PromptVersion}). The trajectory is cut into numbered segments; every step has a number.
        A good lesson is short, imperative and reusable: a rule of conduct (guideline), a step-by-step playbook for a kind
        of task (procedure), how to use a tool well (tool_guide), something to avoid (anti_pattern), or a stable fact about
        this user (user_fact). Learn from what went wrong and from what worked; say nothing that only restates this episode's
        data (ids, names, amounts, dates). Cite the one segment and the steps that show each lesson.

        {_schema.Describe()}
        """;

    private string Header(Episode episode)
    {
        var outcome = episode.Score is { } score
            ? string.Create(CultureInfo.InvariantCulture, $"{(score >= 0.5 ? "succeeded" : "failed")} (score {score:0.##})")
            : "not judged";
        var builder = new StringBuilder();
        builder.Append("Task: ").AppendLine(Shorten(episode.Task, _options.MaxMessageCharacters));
        builder.Append("Outcome: ").AppendLine(outcome);
        var system = episode.Steps.SelectMany(s => s.Request).FirstOrDefault(m => m.Role == "system")?.Text;
        if (!string.IsNullOrWhiteSpace(system))
        {
            builder.Append("Agent instructions (shortened): ").AppendLine(Shorten(system, 2 * _options.MaxMessageCharacters));
        }

        builder.AppendLine();
        return builder.ToString();
    }

    private string Render(TrajectorySegment segment)
    {
        var max = _options.MaxMessageCharacters;
        var builder = new StringBuilder();
        builder.Append(CultureInfo.InvariantCulture, $"Segment {segment.Number} (steps {segment.FirstStep}-{segment.LastStep})");
        builder.AppendLine(segment.OpeningUserText is { } user ? $", opened by the user: \"{Shorten(user, max)}\"" : "");
        foreach (var step in segment.Steps)
        {
            if (step.Kind == StepKind.ToolCall)
            {
                var result = step.ToolFailed ? "FAILED: " + Shorten(step.ToolResult ?? "", max) : Shorten(step.ToolResult ?? "", max);
                builder.Append(CultureInfo.InvariantCulture, $"  [{step.Index}] tool {step.ToolName} {Shorten(step.ToolArguments ?? "{}", max)} -> {result}").AppendLine();
                continue;
            }

            foreach (var message in step.Request.Where(m => m.Role == "user" && !ReferenceEquals(m.Text, segment.OpeningUserText)))
            {
                builder.Append(CultureInfo.InvariantCulture, $"  [{step.Index}] user: {Shorten(message.Text ?? "", max)}").AppendLine();
            }

            foreach (var message in step.Response)
            {
                var said = string.IsNullOrWhiteSpace(message.Text) ? "" : $" \"{Shorten(message.Text, max)}\"";
                var calls = message.ToolCalls.Count > 0 ? " -> calls " + string.Join(", ", message.ToolCalls.Select(c => c.Name)) : "";
                builder.Append(CultureInfo.InvariantCulture, $"  [{step.Index}] assistant:{said}{calls}").AppendLine();
            }
        }

        builder.AppendLine();
        return builder.ToString();
    }

    private static string Shorten(string text, int max)
    {
        var flat = text.ReplaceLineEndings(" ").Trim();
        return flat.Length <= max ? flat : flat[..(max - 3)] + "...";
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
