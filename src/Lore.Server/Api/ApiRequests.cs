using System.Text.Json;

namespace Lore.Server.Api;

// The REST API's request bodies. Every field is nullable so that a missing one is reported by name (with its JSON
// path) instead of failing deserialization as a whole; Validate says what each field must be.

/// <summary>An outcome of an episode: a score in [0, 1] and who judged it.</summary>
internal sealed class OutcomeInput
{
    /// <summary>1 is full success, 0 failure.</summary>
    public double? Score { get; set; }

    /// <summary>environment (default), user or evaluator.</summary>
    public string? Source { get; set; }

    public string? Comment { get; set; }

    /// <summary>For a failure: the kind of failure (for example "wrong_refund"); becomes its failure mode.</summary>
    public string? Category { get; set; }

    /// <summary>For a failure: why, in the judge's words.</summary>
    public string? Reason { get; set; }

    /// <param name="errors">Where messages go.</param>
    /// <param name="path">The JSON path of this object ("" at the top level).</param>
    public void Validate(ApiValidation errors, string path)
    {
        var prefix = path.Length == 0 ? "" : path + ".";
        if (Score is not { } score)
        {
            errors.Add($"{prefix}score", "is required: a number in [0, 1].");
        }
        else if (double.IsNaN(score) || score is < 0 or > 1)
        {
            errors.Add($"{prefix}score", $"is {score}; it must lie in [0, 1].");
        }

        if (Source is not null && Source.Trim().ToLowerInvariant() is not (OutcomeSource.Environment or OutcomeSource.User or OutcomeSource.Evaluator))
        {
            errors.Add($"{prefix}source", $"is '{Source}'; it must be environment, user or evaluator.");
        }

        errors.MaxLength($"{prefix}comment", Comment, 4_000);
        errors.MaxLength($"{prefix}category", Category, 200);
        errors.MaxLength($"{prefix}reason", Reason, 4_000);
        if (Category is not null && string.IsNullOrWhiteSpace(Category))
        {
            errors.Add($"{prefix}category", "is blank; leave it out or name the kind of failure.");
        }
    }

    /// <summary>The outcome, attributed to the API key that reported it.</summary>
    public Outcome ToOutcome(string actor, DateTimeOffset at) => new(Score!.Value, Source ?? OutcomeSource.Environment, actor, Comment, at)
    {
        Category = Category?.Trim(),
        Reason = string.IsNullOrWhiteSpace(Reason) ? null : Reason.Trim(),
    };
}

/// <summary>One message of a model call, provider-neutral.</summary>
internal sealed class MessageInput
{
    public string? Role { get; set; }

    public string? Text { get; set; }

    public List<ToolCallInput>? ToolCalls { get; set; }

    public string? ToolCallId { get; set; }

    public string? ToolName { get; set; }

    public void Validate(ApiValidation errors, string path)
    {
        if (Role?.Trim().ToLowerInvariant() is not ("system" or "user" or "assistant" or "tool"))
        {
            errors.Add($"{path}.role", Role is null ? "is required: system, user, assistant or tool." : $"is '{Role}'; it must be system, user, assistant or tool.");
        }

        errors.MaxLength($"{path}.text", Text, 1_000_000);
        for (var i = 0; i < (ToolCalls?.Count ?? 0); i++)
        {
            var call = ToolCalls![i];
            if (call is null)
            {
                errors.Add($"{path}.toolCalls[{i}]", "is null.");
                continue;
            }

            errors.Required($"{path}.toolCalls[{i}].name", call.Name, 200);
        }
    }

    public TrajectoryMessage ToMessage() => new()
    {
        Role = Role!.Trim().ToLowerInvariant(),
        Text = Text,
        ToolCalls = ToolCalls?.Select((c, i) => new ToolCallRequest(c.Id ?? $"call_{i}", c.Name!, c.Arguments ?? "{}")).ToArray() ?? [],
        ToolCallId = ToolCallId,
        ToolName = ToolName,
    };
}

/// <summary>A tool call an assistant message asked for.</summary>
internal sealed class ToolCallInput
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    /// <summary>The arguments as JSON text.</summary>
    public string? Arguments { get; set; }
}

/// <summary>Token counts of a model call.</summary>
internal sealed class UsageInput
{
    public long InputTokens { get; set; }

    public long OutputTokens { get; set; }
}

/// <summary>One step of a trajectory: a tool call (tool, arguments, result) or a model call (request and response messages).</summary>
internal sealed class StepInput
{
    /// <summary>toolCall or modelCall.</summary>
    public string? Kind { get; set; }

    /// <summary>When the step happened (default: when it arrived).</summary>
    public DateTimeOffset? At { get; set; }

    public double? LatencyMs { get; set; }

    // Tool call
    public string? Tool { get; set; }

    public string? CallId { get; set; }

    /// <summary>The tool's arguments: a JSON object.</summary>
    public JsonElement? Arguments { get; set; }

    public string? Result { get; set; }

    /// <summary>Whether the tool failed (default: the result starts with "Error").</summary>
    public bool? Failed { get; set; }

    // Model call
    public string? Model { get; set; }

    public List<MessageInput>? Request { get; set; }

    public List<MessageInput>? Response { get; set; }

    public UsageInput? Usage { get; set; }

    /// <summary>Lessons injected into this model call.</summary>
    public List<string>? InjectedLessonIds { get; set; }

    /// <summary>The names of the tools offered to the model on this call (kept so the call can be replayed).</summary>
    public List<string>? OfferedTools { get; set; }

    public void Validate(ApiValidation errors, string path)
    {
        switch (Kind)
        {
            case "toolCall":
                errors.Required($"{path}.tool", Tool, 200);
                if (Arguments is { } arguments && arguments.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                {
                    errors.Add($"{path}.arguments", $"is a JSON {arguments.ValueKind.ToString().ToLowerInvariant()}; it must be a JSON object.");
                }

                errors.MaxLength($"{path}.result", Result, 1_000_000);
                break;
            case "modelCall":
                for (var i = 0; i < (Request?.Count ?? 0); i++)
                {
                    ValidateMessage(errors, $"{path}.request[{i}]", Request![i]);
                }

                for (var i = 0; i < (Response?.Count ?? 0); i++)
                {
                    ValidateMessage(errors, $"{path}.response[{i}]", Response![i]);
                }

                if (Usage is { } usage && (usage.InputTokens < 0 || usage.OutputTokens < 0))
                {
                    errors.Add($"{path}.usage", "token counts must not be negative.");
                }

                break;
            case null:
                errors.Add($"{path}.kind", "is required: toolCall or modelCall.");
                break;
            default:
                errors.Add($"{path}.kind", $"is '{Kind}'; it must be toolCall or modelCall.");
                break;
        }

        if (LatencyMs is { } latency && (double.IsNaN(latency) || latency < 0))
        {
            errors.Add($"{path}.latencyMs", "must not be negative.");
        }

        ApiRequestChecks.Ids(errors, $"{path}.injectedLessonIds", InjectedLessonIds);
        if (OfferedTools is { } tools)
        {
            if (Kind == "toolCall")
            {
                errors.Add($"{path}.offeredTools", "belongs to a modelCall step, not a toolCall.");
            }

            for (var i = 0; i < tools.Count; i++)
            {
                errors.Required($"{path}.offeredTools[{i}]", tools[i], 200);
            }
        }
    }

    private static void ValidateMessage(ApiValidation errors, string path, MessageInput? message)
    {
        if (message is null)
        {
            errors.Add(path, "is null.");
            return;
        }

        message.Validate(errors, path);
    }

    public Step ToStep(int index, DateTimeOffset now)
    {
        var at = At ?? now;
        var latency = TimeSpan.FromMilliseconds(LatencyMs ?? 0);
        if (Kind == "toolCall")
        {
            var arguments = Arguments is { ValueKind: JsonValueKind.Object } a ? a.GetRawText() : "{}";
            return Step.Tool(index, Tool!.Trim(), arguments, Result, CallId, Failed, at) with { Latency = latency };
        }

        return new Step
        {
            Index = index,
            Kind = StepKind.ModelCall,
            At = at,
            Latency = latency,
            Model = Model,
            Request = Request?.Select(m => m.ToMessage()).ToArray() ?? [],
            Response = Response?.Select(m => m.ToMessage()).ToArray() ?? [],
            Usage = Usage is { } u ? new TokenUsage(u.InputTokens, u.OutputTokens) : null,
            InjectedLessonIds = InjectedLessonIds?.ToArray() ?? [],
            OfferedTools = OfferedTools?.Select(t => t.Trim()).ToArray(),
        };
    }
}

/// <summary>Starts an episode, or records a whole one (steps, outcomes, <c>ended: true</c>) in one call.</summary>
internal sealed class StartEpisodeRequest : IApiRequest
{
    public const int MaxSteps = 10_000;

    /// <summary>The episode id (default: a new one); ids are unique across the store.</summary>
    public string? Id { get; set; }

    public string? Task { get; set; }

    /// <summary>The unit rollout assigns and evidence counts as one source (a user, a session).</summary>
    public string? Unit { get; set; }

    /// <summary>Free labels; <c>slice</c> is the one evaluation groups by.</summary>
    public Dictionary<string, string>? Labels { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public List<StepInput>? Steps { get; set; }

    public List<OutcomeInput>? Outcomes { get; set; }

    /// <summary>End the episode in the same call.</summary>
    public bool Ended { get; set; }

    /// <summary>Lessons the agent injected (from <c>/api/retrieve</c>), recorded when the episode ends.</summary>
    public List<string>? InjectedLessonIds { get; set; }

    public void Validate(ApiValidation errors)
    {
        errors.EpisodeId("id", Id);
        errors.Required("task", Task, 20_000);
        errors.MaxLength("unit", Unit, 500);
        ApiRequestChecks.Labels(errors, "labels", Labels);
        ApiRequestChecks.Steps(errors, "steps", Steps, required: false);
        for (var i = 0; i < (Outcomes?.Count ?? 0); i++)
        {
            if (Outcomes![i] is { } outcome)
            {
                outcome.Validate(errors, $"outcomes[{i}]");
            }
            else
            {
                errors.Add($"outcomes[{i}]", "is null.");
            }
        }

        ApiRequestChecks.Ids(errors, "injectedLessonIds", InjectedLessonIds);
        if (!Ended && InjectedLessonIds is { Count: > 0 })
        {
            errors.Add("injectedLessonIds", "are recorded when the episode ends: send them with ended: true, or to /end.");
        }
    }
}

/// <summary>Replays an episode against a snapshot: an id, "stable" or "candidate" (default: stable).</summary>
internal sealed class ReplayEpisodeRequest : IApiRequest
{
    public string? Snapshot { get; set; }

    public void Validate(ApiValidation errors)
    {
        if (Snapshot is not null)
        {
            errors.Required("snapshot", Snapshot, 200);
        }
    }
}

/// <summary>Appends steps to a running episode.</summary>
internal sealed class AppendStepsRequest : IApiRequest
{
    public List<StepInput>? Steps { get; set; }

    public void Validate(ApiValidation errors) => ApiRequestChecks.Steps(errors, "steps", Steps, required: true);
}

/// <summary>Ends an episode, optionally with its outcome and the lessons the agent injected.</summary>
internal sealed class EndEpisodeRequest : IApiRequest
{
    public OutcomeInput? Outcome { get; set; }

    public List<string>? InjectedLessonIds { get; set; }

    public void Validate(ApiValidation errors)
    {
        Outcome?.Validate(errors, "outcome");
        ApiRequestChecks.Ids(errors, "injectedLessonIds", InjectedLessonIds);
    }
}

/// <summary>An outcome or feedback for an episode, at any time after it started.</summary>
internal sealed class AddOutcomeRequest : IApiRequest
{
    public double? Score { get; set; }

    public string? Source { get; set; }

    public string? Comment { get; set; }

    /// <summary>For a failure: the kind of failure (for example "wrong_refund"); becomes its failure mode.</summary>
    public string? Category { get; set; }

    /// <summary>For a failure: why, in the judge's words.</summary>
    public string? Reason { get; set; }

    public void Validate(ApiValidation errors)
    {
        AsInput().Validate(errors, "");
    }

    public OutcomeInput AsInput() => new() { Score = Score, Source = Source, Comment = Comment, Category = Category, Reason = Reason };
}

/// <summary>What retrieval needs: the task (and turn), who asks (unit, labels) and which tools the agent has.</summary>
internal sealed class RetrieveRequest : IApiRequest
{
    public string? Task { get; set; }

    /// <summary>The latest user or tool text, when there is one.</summary>
    public string? Turn { get; set; }

    public string? Unit { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    /// <summary>Tools available to the agent (null: unknown).</summary>
    public List<string>? Tools { get; set; }

    /// <summary>An episode started through the API: its arm and snapshot are used, and the lessons are recorded as injected into it.</summary>
    public string? EpisodeId { get; set; }

    public void Validate(ApiValidation errors)
    {
        errors.Required("task", Task, 20_000);
        errors.MaxLength("turn", Turn, 100_000);
        errors.MaxLength("unit", Unit, 500);
        ApiRequestChecks.Labels(errors, "labels", Labels);
        if (Tools is { Count: > 1_000 })
        {
            errors.Add("tools", $"lists {Tools.Count} tools; at most 1000 are accepted.");
        }

        for (var i = 0; i < (Tools?.Count ?? 0); i++)
        {
            errors.Required($"tools[{i}]", Tools![i], 200);
        }

        errors.EpisodeId("episodeId", EpisodeId);
    }
}

/// <summary>A change that must say why (rollback, freeze, unfreeze, review rejection, key revocation).</summary>
internal sealed class ReasonRequest : IApiRequest
{
    public string? Reason { get; set; }

    public void Validate(ApiValidation errors) => errors.Required("reason", Reason, 2_000);
}

/// <summary>A change whose reason is optional (promote).</summary>
internal sealed class OptionalReasonRequest : IApiRequest
{
    public string? Reason { get; set; }

    public void Validate(ApiValidation errors) => errors.MaxLength("reason", Reason, 2_000);
}

internal sealed class RollbackRequest : IApiRequest
{
    public string? Reason { get; set; }

    /// <summary>Serve this older snapshot to every unit instead of dropping the candidate.</summary>
    public string? To { get; set; }

    public void Validate(ApiValidation errors)
    {
        errors.Required("reason", Reason, 2_000);
        errors.Identifier("to", To);
    }
}

internal sealed class ShadowRequest : IApiRequest
{
    public string? SnapshotId { get; set; }

    public string? Reason { get; set; }

    public void Validate(ApiValidation errors)
    {
        errors.Identifier("snapshotId", SnapshotId, required: true);
        errors.MaxLength("reason", Reason, 2_000);
    }
}

internal sealed class CanaryRequest : IApiRequest
{
    /// <summary>Share of units that get the candidate, in (0, 1].</summary>
    public double? Share { get; set; }

    /// <summary>The snapshot (default: the candidate already in shadow or canary).</summary>
    public string? SnapshotId { get; set; }

    public string? Reason { get; set; }

    public void Validate(ApiValidation errors)
    {
        if (Share is not { } share)
        {
            errors.Add("share", "is required: the share of units in (0, 1], for example 0.1.");
        }
        else if (double.IsNaN(share) || share is <= 0 or > 1)
        {
            errors.Add("share", $"is {share}; it must lie in (0, 1].");
        }

        errors.Identifier("snapshotId", SnapshotId);
        errors.MaxLength("reason", Reason, 2_000);
    }
}

/// <summary>An approval: why, and where the snapshot containing the lesson enters the rollout.</summary>
/// <summary>Several waiting lessons decided with one reason.</summary>
internal class BulkReviewRequest : IApiRequest
{
    /// <summary>The lessons to decide, each once (at most 500).</summary>
    public List<string>? Ids { get; set; }

    public string? Reason { get; set; }

    public virtual void Validate(ApiValidation errors)
    {
        errors.Required("reason", Reason, 2_000);
        if (Ids is null || Ids.Count == 0)
        {
            errors.Add("ids", "is required: at least one lesson id.");
        }
        else if (Ids.Count > 500)
        {
            errors.Add("ids", $"has {Ids.Count} ids; decide at most 500 at once.");
        }
        else if (Ids.Distinct(StringComparer.Ordinal).Count() != Ids.Count)
        {
            errors.Add("ids", "names a lesson twice; name each once.");
        }
        else
        {
            foreach (var id in Ids)
            {
                errors.Identifier("ids", id, required: true);
            }
        }
    }
}

/// <summary>Several waiting lessons approved with one reason, in one snapshot that enters the rollout.</summary>
internal sealed class BulkApproveRequest : BulkReviewRequest
{
    /// <summary>now (served at once), shadow or canary; default: the server's rollout policy.</summary>
    public string? Entry { get; set; }

    /// <summary>With entry canary: the share of units (default 0.1).</summary>
    public double? Share { get; set; }

    public RolloutPolicy? Rollout() => ApproveRequest.Rollout(Entry, Share);

    public override void Validate(ApiValidation errors)
    {
        base.Validate(errors);
        ApproveRequest.ValidateEntry(errors, Entry, Share);
    }
}

internal sealed class ApproveRequest : IApiRequest
{
    public string? Reason { get; set; }

    /// <summary>now (served at once), shadow or canary; default: the server's rollout policy.</summary>
    public string? Entry { get; set; }

    /// <summary>With entry canary: the share of units (default 0.1).</summary>
    public double? Share { get; set; }

    /// <summary>The rollout an approval's snapshot enters: null for the server's policy.</summary>
    public RolloutPolicy? Rollout() => Rollout(Entry, Share);

    public static RolloutPolicy? Rollout(string? entry, double? share) => entry is null ? null : new RolloutPolicy
    {
        EntryStage = entry switch { "shadow" => RolloutStage.Shadow, "canary" => RolloutStage.Canary, _ => RolloutStage.None },
        CanaryShare = share ?? 0.1,
    };

    public void Validate(ApiValidation errors)
    {
        errors.Required("reason", Reason, 2_000);
        ValidateEntry(errors, Entry, Share);
    }

    public static void ValidateEntry(ApiValidation errors, string? entry, double? share)
    {
        if (entry is not (null or "now" or "shadow" or "canary"))
        {
            errors.Add("entry", $"is '{entry}'; it must be now, shadow or canary.");
        }

        if (share is { } s && (double.IsNaN(s) || s is <= 0 or > 1))
        {
            errors.Add("share", $"is {s}; it must lie in (0, 1].");
        }
    }
}

internal sealed class CreateKeyRequest : IApiRequest
{
    /// <summary>What the key is for ("checkout agent").</summary>
    public string? Name { get; set; }

    /// <summary>agent, reviewer or admin.</summary>
    public string? Role { get; set; }

    /// <summary>Whether the key may assert units (only for a backend that authenticates its end users); default false.</summary>
    public bool TrustUnits { get; set; }

    public void Validate(ApiValidation errors)
    {
        errors.Required("name", Name, 200);
        if (Role?.Trim().ToLowerInvariant() is not ("agent" or "reviewer" or "admin"))
        {
            errors.Add("role", Role is null ? "is required: agent, reviewer or admin." : $"is '{Role}'; it must be agent, reviewer or admin.");
        }
    }
}

/// <summary>An admin's decision whether a key may assert units, with the reason the audit log records.</summary>
internal sealed class KeyTrustRequest : IApiRequest
{
    /// <summary>True: each unit the key names is its own evidence source; false: the key is one source whatever units it names.</summary>
    public bool? TrustUnits { get; set; }

    /// <summary>Why (recorded in the audit log; required).</summary>
    public string? Reason { get; set; }

    public void Validate(ApiValidation errors)
    {
        if (TrustUnits is null)
        {
            errors.Add("trustUnits", "is required: true (the key may assert units) or false (one source whatever units it names).");
        }

        errors.Required("reason", Reason, 2_000);
    }
}

/// <summary>Erasure: every episode of a unit, or the listed episodes.</summary>
internal sealed class EraseEpisodesRequest : IApiRequest
{
    public string? Unit { get; set; }

    public List<string>? EpisodeIds { get; set; }

    /// <summary>Why (recorded in the audit log; required). Do not put personal data here.</summary>
    public string? Reason { get; set; }

    /// <summary>Report what would be deleted and retired, and change nothing.</summary>
    public bool DryRun { get; set; }

    public void Validate(ApiValidation errors)
    {
        if ((Unit is null) == (EpisodeIds is null or { Count: 0 }))
        {
            errors.Add(Unit is null ? "unit" : "episodeIds", "give either unit or episodeIds (not both).");
        }

        if (Unit is not null && string.IsNullOrWhiteSpace(Unit))
        {
            errors.Add("unit", "must not be blank.");
        }

        ApiRequestChecks.Ids(errors, "episodeIds", EpisodeIds);
        errors.Required("reason", Reason, 2_000);
    }
}

/// <summary>A request with no fields (learning runs with the server's configured policies).</summary>
internal sealed class EmptyRequest : IApiRequest
{
    public void Validate(ApiValidation errors)
    {
    }
}

/// <summary>Checks shared by several requests.</summary>
internal static class ApiRequestChecks
{
    public static void Labels(ApiValidation errors, string path, Dictionary<string, string>? labels)
    {
        if (labels is null)
        {
            return;
        }

        if (labels.Count > 64)
        {
            errors.Add(path, $"has {labels.Count} labels; at most 64 are accepted.");
        }

        foreach (var (key, value) in labels)
        {
            if (string.IsNullOrWhiteSpace(key) || key.Length > 100)
            {
                errors.Add($"{path}.{key}", "a label name must be 1 to 100 characters.");
            }
            else if (value is null)
            {
                errors.Add($"{path}.{key}", "must be a string, not null.");
            }
            else
            {
                errors.MaxLength($"{path}.{key}", value, 1_000);
            }
        }
    }

    public static void Ids(ApiValidation errors, string path, List<string>? ids)
    {
        if (ids is null)
        {
            return;
        }

        if (ids.Count > 10_000)
        {
            errors.Add(path, $"lists {ids.Count} ids; at most 10,000 are accepted.");
            return;
        }

        for (var i = 0; i < ids.Count; i++)
        {
            errors.Identifier($"{path}[{i}]", ids[i], required: true);
        }
    }

    public static void Steps(ApiValidation errors, string path, List<StepInput>? steps, bool required)
    {
        if (steps is null or { Count: 0 })
        {
            if (required)
            {
                errors.Add(path, "is required: a non-empty array of steps.");
            }

            return;
        }

        if (steps.Count > StartEpisodeRequest.MaxSteps)
        {
            errors.Add(path, $"has {steps.Count:N0} steps; at most {StartEpisodeRequest.MaxSteps:N0} are accepted per request.");
            return;
        }

        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i] is { } step)
            {
                step.Validate(errors, $"{path}[{i}]");
            }
            else
            {
                errors.Add($"{path}[{i}]", "is null.");
            }
        }
    }
}
