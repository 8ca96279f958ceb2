using System.Collections.Concurrent;
using Microsoft.Extensions.AI;

namespace Lore.Learning;

/// <summary>
/// What calling a tool does to the world. Learning may recommend reads freely, but a lesson that would make an agent
/// change state, move money or change permissions is a decision a person signs off.
/// </summary>
public enum ToolEffect
{
    /// <summary>Does nothing outside the agent (a scratchpad such as <c>think</c>): never lesson material.</summary>
    NoOp,

    /// <summary>Reads or computes without changing anything (look-ups, searches, calculators).</summary>
    ReadOnly,

    /// <summary>Changes state (books, cancels, updates, sends, hands over). The default for a tool nobody described.</summary>
    StateChanging,

    /// <summary>Moves money or value: payments, refunds, credits, certificates, gift cards.</summary>
    MoneyMoving,

    /// <summary>Changes who may do what: roles, grants, access.</summary>
    PermissionChanging,
}

/// <summary>
/// The one place extraction, the guards and review learn what each tool does. Effects come, in order of precedence,
/// from configuration (<see cref="Set"/>), from tool metadata (<see cref="Describe(AIFunction)"/>, MCP annotations
/// <c>readOnlyHint</c>/<c>destructiveHint</c>), and otherwise from the tool's name: a leading read verb (get, list,
/// search, find, calculate ...) reads, think/reflect-style scratchpads are no-ops, money and permission words escalate,
/// and anything else is treated as state-changing, the conservative default.
/// </summary>
public sealed class ToolCatalog
{
    private static readonly HashSet<string> ReadVerbs = new(StringComparer.Ordinal)
    {
        "get", "list", "search", "find", "lookup", "look", "read", "fetch", "query", "show", "describe", "check",
        "calculate", "calc", "compute", "count", "view", "retrieve", "browse", "inspect", "estimate", "preview",
        "validate", "verify", "explain", "summarize", "summarise", "convert", "resolve", "locate", "track", "is", "has",
    };

    private static readonly HashSet<string> NoOpNames = new(StringComparer.Ordinal)
    {
        "think", "reflect", "reflection", "scratchpad", "noop", "no_op", "plan", "reason", "reasoning", "thought",
    };

    private static readonly HashSet<string> MoneyWords = new(StringComparer.Ordinal)
    {
        "refund", "refunds", "pay", "payment", "payments", "payout", "charge", "credit", "credits", "certificate",
        "certificates", "voucher", "vouchers", "coupon", "coupons", "discount", "compensate", "compensation", "reimburse",
        "withdraw", "deposit", "invoice", "money", "fund", "funds", "wire", "gift", "giftcard", "balance", "transaction",
    };

    private static readonly HashSet<string> PermissionWords = new(StringComparer.Ordinal)
    {
        "grant", "revoke", "permission", "permissions", "role", "roles", "admin", "access", "privilege", "privileges",
        "elevate", "sudo", "acl", "authorize", "authorise", "impersonate",
    };

    private readonly ConcurrentDictionary<string, ToolEffect> _configured = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Declares a tool's effect; it wins over metadata and the name.</summary>
    public ToolCatalog Set(string tool, ToolEffect effect)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tool);
        if (!Enum.IsDefined(effect))
        {
            throw new ArgumentOutOfRangeException(nameof(effect), effect, $"'{effect}' is not a tool effect.");
        }

        _configured[tool.Trim()] = effect;
        return this;
    }

    /// <summary>
    /// Declares a tool from MCP-style annotations: read-only when <paramref name="readOnlyHint"/> is true, else
    /// state-changing (money and permission words in the name still escalate). A null hint leaves the name to decide.
    /// </summary>
    public ToolCatalog Describe(string tool, bool? readOnlyHint, bool? destructiveHint = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tool);
        if (readOnlyHint is null && destructiveHint is null)
        {
            return this;
        }

        if (readOnlyHint == true && destructiveHint != true)
        {
            return Set(tool, ToolEffect.ReadOnly);
        }

        var escalated = Escalation(Words(tool));
        return Set(tool, escalated ?? ToolEffect.StateChanging);
    }

    /// <summary>
    /// Declares a tool from an <see cref="AIFunction"/>'s metadata: an <c>AdditionalProperties</c> entry
    /// <c>lore.effect</c> (a <see cref="ToolEffect"/> name) or the MCP hints <c>readOnlyHint</c>/<c>destructiveHint</c>.
    /// </summary>
    public ToolCatalog Describe(AIFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        var properties = function.AdditionalProperties;
        if (properties.TryGetValue("lore.effect", out var declared) && Enum.TryParse<ToolEffect>(declared?.ToString(), ignoreCase: true, out var effect))
        {
            return Set(function.Name, effect);
        }

        return Describe(function.Name, AsBool(properties, "readOnlyHint"), AsBool(properties, "destructiveHint"));
    }

    /// <summary>The effect of calling <paramref name="tool"/>.</summary>
    public ToolEffect EffectOf(string tool)
    {
        ArgumentNullException.ThrowIfNull(tool);
        return _configured.TryGetValue(tool.Trim(), out var effect) ? effect : Infer(tool);
    }

    /// <summary>True for tools that change nothing and tell nothing (scratchpads).</summary>
    public bool IsNoOp(string tool) => EffectOf(tool) == ToolEffect.NoOp;

    /// <summary>True for tools whose call changes the world in any way (state, money or permissions).</summary>
    public bool ChangesState(string tool) => EffectOf(tool) >= ToolEffect.StateChanging;

    /// <summary>True for reads and computations that carry information (not scratchpads).</summary>
    public bool IsRead(string tool) => EffectOf(tool) == ToolEffect.ReadOnly;

    /// <summary>The effect a tool's name suggests when nothing else describes it.</summary>
    public static ToolEffect Infer(string tool)
    {
        var words = Words(tool);
        if (words.Count == 0)
        {
            return ToolEffect.StateChanging;
        }

        if (NoOpNames.Contains(string.Join("_", words)) || (words.Count == 1 && NoOpNames.Contains(words[0])))
        {
            return ToolEffect.NoOp;
        }

        if (ReadVerbs.Contains(words[0]))
        {
            return ToolEffect.ReadOnly;
        }

        return Escalation(words) ?? ToolEffect.StateChanging;
    }

    private static ToolEffect? Escalation(List<string> words)
        => words.Any(PermissionWords.Contains) ? ToolEffect.PermissionChanging
            : words.Any(MoneyWords.Contains) ? ToolEffect.MoneyMoving
            : null;

    /// <summary>Lower-case words of a tool name split at underscores, dashes, dots and camelCase humps.</summary>
    internal static List<string> Words(string tool)
    {
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        void Flush()
        {
            if (current.Length > 0)
            {
                words.Add(current.ToString().ToLowerInvariant());
                current.Clear();
            }
        }

        for (var i = 0; i < tool.Length; i++)
        {
            var c = tool[i];
            if (!char.IsLetterOrDigit(c))
            {
                Flush();
                continue;
            }

            if (char.IsUpper(c) && current.Length > 0 && !char.IsUpper(tool[i - 1]))
            {
                Flush();
            }

            current.Append(c);
        }

        Flush();
        return words;
    }

    private static bool? AsBool(IReadOnlyDictionary<string, object?> properties, string key)
        => properties.TryGetValue(key, out var value) ? value switch
        {
            bool b => b,
            string s when bool.TryParse(s, out var parsed) => parsed,
            System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.True } => true,
            System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.False } => false,
            _ => null,
        } : null;
}
