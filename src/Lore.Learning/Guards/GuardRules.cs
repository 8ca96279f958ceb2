namespace Lore.Learning;

/// <summary>
/// The names of the admission guards' rules, as they appear in <see cref="GuardFinding.Rule"/>, in the audit log and
/// in the CLI, so that a finding can be searched for and a policy discussed by name.
/// </summary>
public static class GuardRules
{
    /// <summary>Fewer supporting episodes than <see cref="AdmissionPolicy.MinEpisodes"/>.</summary>
    public const string MinEpisodes = "evidence.min-episodes";

    /// <summary>Evidence from fewer distinct sources than <see cref="AdmissionPolicy.MinDistinctSources"/>.</summary>
    public const string MinSources = "evidence.min-sources";

    /// <summary>Evidence from fewer distinct tasks than <see cref="AdmissionPolicy.MinDistinctTasks"/> (trials of one task count once).</summary>
    public const string MinTasks = "evidence.min-tasks";

    /// <summary>One source contributed more than <see cref="AdmissionPolicy.MaxSourceShare"/> of the evidence or of the exemplars.</summary>
    public const string SourceShare = "evidence.source-share";

    /// <summary>
    /// The behaviour the lesson recommends was not shown to work by enough distinct sources and tasks (it rests on
    /// others' failures only, or on one source's successes).
    /// </summary>
    public const string Exemplars = "evidence.exemplars";

    /// <summary>The lesson would make the agent call a state-changing, money-moving or permission-changing tool.</summary>
    public const string ToolEffect = "review.tool-effect";

    /// <summary>Confidence below the kind's review floor.</summary>
    public const string LowConfidence = "threshold.confidence";

    /// <summary>Confidence between the kind's review floor and its admit threshold (waits for review).</summary>
    public const string BorderlineConfidence = "threshold.confidence-borderline";

    /// <summary>The pattern was observed fewer times than the kind's minimum support.</summary>
    public const string LowSupport = "threshold.support";

    /// <summary>Text telling the agent to ignore, forget or replace its instructions.</summary>
    public const string InstructionOverride = "content.instruction-override";

    /// <summary>Role-play and persona jailbreaks: "you are now", "pretend to be", developer mode, DAN.</summary>
    public const string Jailbreak = "content.jailbreak";

    /// <summary>Instructions hidden in markup: comments, chat-template tokens, hidden elements, scripts, image links.</summary>
    public const string HiddenMarkup = "content.hidden-markup";

    /// <summary>Invisible characters (zero-width, bidirectional controls, tag characters) that hide or split words.</summary>
    public const string InvisibleCharacters = "content.invisible-characters";

    /// <summary>A word mixing Latin letters with look-alike Cyrillic or Greek ones.</summary>
    public const string MixedScript = "content.mixed-script";

    /// <summary>Requests to reveal the system prompt, instructions, credentials or keys.</summary>
    public const string DataDisclosure = "content.data-disclosure";

    /// <summary>Requests to send, post or forward data to an address.</summary>
    public const string Exfiltration = "content.exfiltration";

    /// <summary>A URL, e-mail address, domain or IP address that is neither in the policy nor in the evidence's tool calls.</summary>
    public const string UnknownHost = "content.unknown-host";

    /// <summary>An API key, token, private key or password.</summary>
    public const string Secret = "content.secret";

    /// <summary>Personal data: e-mail addresses, phone numbers, card numbers, IBANs, SSN-like numbers.</summary>
    public const string PersonalData = "content.personal-data";

    /// <summary>Granting or changing permissions, or bypassing approvals, verification and safety checks.</summary>
    public const string ToolPermission = "content.tool-permission";

    /// <summary>Telling the agent to lie to, mislead or invent facts for users (in any language the screen reads).</summary>
    public const string Deception = "content.deception";

    /// <summary>Money offered to users: refunds, credits, vouchers, certificates, gift cards or discounts given unconditionally.</summary>
    public const string MoneyMovement = "content.money-movement";

    /// <summary>Deleting or closing accounts, wiping data, cancelling everything on the agent's own initiative.</summary>
    public const string DestructiveAction = "content.destructive-action";

    /// <summary>A workaround for one named customer, user or account ("for customer John Smith always ...").</summary>
    public const string UnitWorkaround = "content.unit-workaround";

    /// <summary>Text the screen could not read within its bounds (too long, too deeply encoded, too slow to match).</summary>
    public const string Unscreenable = "content.unscreenable";

    /// <summary>
    /// Text in a language or script the content screen does not read: no rule could have seen what it says, so it waits
    /// for a reviewer rather than being admitted because nothing matched.
    /// </summary>
    public const string UnreadLanguage = "content.unread-language";

    /// <summary>
    /// Worse treatment for who a person is (origin, nationality, ethnicity, religion, gender, age, disability): a bias one
    /// user's traffic or an attacker can teach, which no written policy allows, so it waits for a reviewer.
    /// </summary>
    public const string UnequalTreatment = "content.unequal-treatment";

    /// <summary>A topic listed in <see cref="AdmissionPolicy.ProtectedTopics"/>.</summary>
    public const string ProtectedTopic = "content.protected-topic";

    /// <summary>No adaptation scope allows this extractor and kind to learn for this tenant and these labels.</summary>
    public const string ScopeNotAllowed = "scope.not-allowed";

    /// <summary>The adaptation scope that allows the lesson requires a reviewer's approval.</summary>
    public const string ScopeRequiresApproval = "scope.requires-approval";

    /// <summary>Lessons of this kind always need a reviewer.</summary>
    public const string ReviewKind = "review.kind";

    /// <summary>Lessons about this tool always need a reviewer.</summary>
    public const string ReviewTool = "review.tool";
}
