using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>One phrasing a rule looks for.</summary>
/// <param name="Rule">The rule it belongs to (<see cref="GuardRules"/>).</param>
/// <param name="Name">What the phrasing is, for the finding's detail.</param>
/// <param name="Pattern">Matched against the normalised views of the text.</param>
/// <param name="Negatable">"do not", "never" or "avoid" right before the match makes it advice, not an attack.</param>
/// <param name="SquashedPattern">
/// When set, also matched against the letters-only view (the pattern without word boundaries), to catch phrases
/// spelled out with separators; only for phrasings too specific to occur by accident across word boundaries.
/// </param>
internal sealed record PhraseRule(string Rule, string Name, RulePattern Pattern, bool Negatable, RulePattern? SquashedPattern);

/// <summary>A phrasing found: an excerpt for the finding, and the match with the text after it.</summary>
internal sealed record PhraseHit(PhraseRule Rule, string Excerpt, string Context);

/// <summary>
/// The phrasings of the content screen: instructions aimed at the agent (override, jailbreak, hidden markup), requests
/// to reveal or send data, and changes to permissions. Patterns are written for lower-case text whose look-alikes and
/// leetspeak are already folded (<see cref="ScreenText"/>); words may be joined by any run of non-letters, so
/// "ignore_all-previous  instructions" reads like the plain phrase. Every match comes from the non-backtracking engine,
/// so no text can make matching slow; the quick checks that decide which texts get that far give up on a text within
/// <see cref="QuickCheck.Timeout"/> and pass it on.
/// </summary>
internal static class PhraseRules
{
    /// <summary>Between two words: any run of non-word characters or underscores, possibly none.</summary>
    private const string S = @"[\W_]*";

    public static IReadOnlyList<PhraseRule> All { get; } = Build();

    /// <summary>Phrases that hide instructions in markup; they run on the plain (lower-case) view with its punctuation.</summary>
    public static IReadOnlyList<PhraseRule> Markup { get; } = BuildMarkup();

    /// <summary>
    /// Every phrasing in one pattern, so that a text matching none (most lessons) is read once per view instead of
    /// once per phrasing; only a text it matches is read phrasing by phrasing.
    /// </summary>
    private static readonly QuickCheck AnyPhrase = new([.. All.Select(r => r.Pattern.Source)], Options);

    private static readonly QuickCheck AnySquashed = new([.. All.Where(r => r.SquashedPattern is not null).Select(r => r.SquashedPattern!.Source)], Options);

    private static readonly QuickCheck AnyMarkup = new([.. Markup.Select(r => r.Pattern.Source)], Options);

    private const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.Multiline;

    private static RulePattern P(string pattern) => new(pattern, R, Options);

    private static Regex R(string pattern) => new(pattern, Options | RegexOptions.NonBacktracking);

    private static List<PhraseRule> Build()
    {
        var rules = new List<PhraseRule>();
        void Add(string rule, string name, string pattern, bool negatable = false, bool squashed = false)
            => rules.Add(new PhraseRule(rule, name, P(pattern), negatable, squashed ? P(pattern.Replace(@"\b", "", StringComparison.Ordinal)) : null));

        const string Quantifiers = $@"(?:(?:all|any|every|each|of|the|your|my|its|these|those|such|prior|previous|above|earlier|preceding|former|original|initial|old|existing|current|system|developer|safety|default|given|provided|aforementioned|that|which){S}){{0,5}}";
        const string Rules = "(?:instructions?|prompts?|rules|guidelines|directives?|directions|guardrails|programming|constraints|restrictions|policies|commands|orders|training)";

        // Instruction override: telling the agent to drop what it was told.
        Add(GuardRules.InstructionOverride, "an order to ignore the agent's instructions",
            $@"\b(?:ignore|disregard|forget|overrule|override|bypass|discard|abandon|neglect|set{S}aside|throw{S}out|stop{S}following|do{S}not{S}follow|don'?t{S}follow){S}{Quantifiers}{Rules}",
            negatable: true, squashed: true);
        Add(GuardRules.InstructionOverride, "an order to ignore everything before",
            $@"\b(?:ignore|disregard|forget|erase|wipe|reset){S}(?:everything|anything|all){S}(?:above|before|else|previously|prior|that{S}came{S}before|you{S}(?:know|were{S}told|have{S}been{S}told|learned))",
            negatable: true, squashed: true);
        Add(GuardRules.InstructionOverride, "replacement instructions",
            $@"\b(?:new|real|actual|true|secret|hidden|override){S}(?:instructions|system{S}prompt|directives?|orders)\b",
            squashed: true);
        Add(GuardRules.InstructionOverride, "an override command",
            $@"\b(?:system|admin|developer|root|emergency|priority|security){S}override\b", squashed: true);
        Add(GuardRules.InstructionOverride, "a claim to supersede the agent's instructions",
            $@"\b(?:these|the{S}following|my|our|this){S}(?:instructions?|rules|directives?|commands|message){S}(?:supersedes?|overrides?|replaces?|takes?{S}precedence|takes?{S}priority|ha(?:s|ve){S}priority|comes?{S}first)",
            squashed: true);
        Add(GuardRules.InstructionOverride, "an order not to follow the agent's instructions",
            $@"\b(?:do{S}not|don'?t|never|stop){S}(?:follow|obey|listen{S}to|comply{S}with|adhere{S}to){S}(?:the{S}|your{S}|any{S})?(?:system|previous|prior|original|developer|safety|initial)\b");
        Add(GuardRules.InstructionOverride, "an order to obey only the author",
            $@"\b(?:obey|follow|comply{S}with|listen{S}to){S}only{S}(?:me|my|these|this|the{S}user|us)\b");
        Add(GuardRules.InstructionOverride, "an end-of-instructions marker",
            $@"\b(?:end|stop){S}of{S}(?:the{S})?(?:system{S})?(?:prompt|instructions)\b", squashed: true);

        // Jailbreaks: new identities, role-play, modes without rules.
        Add(GuardRules.Jailbreak, "a new identity for the agent (\"you are now\")",
            $@"\byou{S}(?:are|re){S}now{S}(?:a|an|the|in|my|no{S}longer|free|unrestricted|unfiltered|uncensored|jailbroken|dan|developer|root|admin|god|evil|chatgpt|operating|acting|playing|called|named|known|allowed|authori[sz]ed|permitted)\b",
            squashed: false);
        Add(GuardRules.Jailbreak, "role-play framing",
            $@"\b(?:pretend|imagine){S}(?:that{S})?(?:you{S}(?:are|re|were|have{S}no|can)|to{S}be)\b");
        Add(GuardRules.Jailbreak, "role-play framing",
            $@"\b(?:act|behave|respond|answer|reply|speak|talk|write){S}as{S}(?:if{S}you{S}(?:are|were|had|have)|though{S}you|an?{S}(?:unrestricted|unfiltered|uncensored|evil|rogue|jailbroken|different|new|hacker|ai{S}without|language{S}model{S}without)|(?:dan|developer|admin|root|system|god)\b)");
        Add(GuardRules.Jailbreak, "role-play framing",
            $@"\b(?:role{S}?play(?:ing)?{S}(?:as|that)|let'?s{S}play{S}a{S}game|stay{S}in{S}character|(?:assume|adopt|take{S}on){S}(?:the{S})?(?:role|persona|identity){S}of)\b");
        Add(GuardRules.Jailbreak, "a jailbreak mode",
            $@"(?:\bdo{S}anything{S}now\b|\bjailbr(?:e|o)a?k|\b(?:dan|developer|god|uncensored|evil|unrestricted|dude|aim|stan|unfiltered|opposite){S}mode\b)",
            squashed: true);
        Add(GuardRules.Jailbreak, "a claim that the agent has no rules",
            $@"\byou{S}(?:have|are{S}under|operate{S}(?:with|under)|are{S}bound{S}by|follow){S}no{S}(?:restrictions|limits|limitations|filters|rules|guidelines|boundaries|ethics|morals|policies)\b");
        Add(GuardRules.Jailbreak, "a claim that the agent has no rules",
            $@"\b(?:free|freed|liberated|released|unbound|unshackled){S}(?:from{S}|of{S})(?:(?:all|any|your|the){S}){{0,2}}(?:restrictions|rules|guidelines|constraints|programming|limitations|filters|shackles|chains|training)\b");
        Add(GuardRules.Jailbreak, "a new identity for the agent",
            $@"\bfrom{S}now{S}on{S}you{S}(?:are|will|shall|must|re|act|answer|respond|have)\b", squashed: true);
        Add(GuardRules.Jailbreak, "a new identity for the agent",
            $@"\byour{S}(?:new|true|real|actual){S}(?:role|persona|identity|name|purpose|instructions|task|goal|objective|master|owner)\b", squashed: true);
        Add(GuardRules.Jailbreak, "a switch to an unrestricted mode",
            $@"\b(?:switch|enter|enable|activate|turn{S}on|unlock){S}(?:to{S}|into{S})?(?:developer|debug|admin|god|dan|unrestricted|jailbreak|sudo|maintenance|root|test){S}mode\b");
        Add(GuardRules.Jailbreak, "an order to drop safety rules",
            $@"\b(?:ignore|bypass|disable|remove|turn{S}off|forget|drop){S}(?:(?:your|all|any|the|of){S}){{0,3}}(?:safety|content|ethical|moral){S}(?:filters?|guidelines|rules|restrictions|protocols|training|settings|policies)\b",
            negatable: true);

        // Requests to reveal data.
        const string Filler = $@"(?:{S}(?:me|us|them|the{S}user|all|any|every|of|the|your|my|its|our|full|entire|complete|exact|original|hidden|secret|internal|initial|current|raw|verbatim|whole|stored|saved|admin|administrator|root|database|db|account|master|server|service|login|user'?s|customer'?s|wifi|email|vault)){{0,5}}";
        Add(GuardRules.DataDisclosure, "a request to reveal the agent's instructions or credentials",
            $@"\b(?:reveal|show|print|output|repeat|display|disclose|share|leak|dump|tell|give|provide|expose|recite|echo|type{S}out|write{S}out|read{S}out|spell{S}out|return|respond{S}with|reply{S}with){Filler}{S}(?:system{S}prompt|system{S}message|system{S}instructions|(?:initial|original|hidden|secret|internal|developer|confidential){S}(?:prompt|instructions|message|rules)|(?:prompt|instructions){S}above|your{S}(?:instructions|prompt|rules|guidelines|configuration|config)|credentials?|passwords?|passcodes?|api{S}keys?|secret{S}keys?|secrets|access{S}tokens?|auth(?:entication)?{S}tokens?|session{S}tokens?|bearer{S}tokens?|private{S}keys?|ssh{S}keys?|environment{S}variables|env{S}vars?|connection{S}strings?|database{S}(?:password|credentials|dump))",
            negatable: true, squashed: true);
        Add(GuardRules.DataDisclosure, "a question about the agent's instructions",
            $@"\bwhat{S}(?:is|are|was|were){S}(?:your|the){S}(?:system{S}prompt|initial{S}instructions|original{S}instructions|hidden{S}prompt|secret{S}instructions)\b|\bwhat{S}(?:is|are|was|were){S}your{S}(?:instructions|rules|prompt)\b");
        Add(GuardRules.DataDisclosure, "a request to repeat the conversation",
            $@"\b(?:repeat|print|output|echo|recite|copy){S}(?:back{S})?(?:everything|all|the{S}text|the{S}words|the{S}content|the{S}message|the{S}conversation|it){S}(?:above|before|so{S}far|verbatim|word{S}for{S}word)\b");

        // Requests to send data out. Words between the verb and the target are letter runs and separators, classes that
        // do not overlap: with "'._-" in both, the backtracking quick check took seconds on "order-umgeh_refund_fact-old".
        Add(GuardRules.Exfiltration, "a request to send data to an address",
            $@"\b(?:send|e{S}?mail|mail|post|upload|forward|transmit|exfiltrate|leak|copy|sync|submit|relay|redirect|pipe|export|cc|bcc|beam|dm|fax|ping){S}(?:[a-z0-9]+{S}){{0,12}}(?:to|at|into|via|using|on){S}(?:the{S}|this{S}|my{S}|our{S}|an{S}|a{S})?(?:https?\b|ftp\b|www\b|webhook|(?:this|that|following|my|our|external|below|given|remote|attacker'?s?|personal){S}(?:address|url|endpoint|server|e{S}?mail|inbox|account|site|domain|host|bucket)|external|remote{S}(?:server|host|url|endpoint)|attacker|pastebin|ngrok|requestbin|hookbin|discord|telegram|<(?:url|email|ip|host|address)>|[a-z0-9._%+-]+@[a-z0-9-]+|\d{{1,3}}\.\d{{1,3}}\.\d{{1,3}}\.\d{{1,3}})");
        Add(GuardRules.Exfiltration, "exfiltration", @"\bexfiltrat", squashed: true);
        Add(GuardRules.Exfiltration, "a request to put data in a URL",
            $@"\b(?:include|append|embed|encode|put|add|insert|attach|smuggle|hide){S}(?:(?:the|all|any|your|of|our|this|whole|full|entire|user'?s?|customer'?s?){S}){{0,3}}(?:conversation|chat|history|transcript|messages|system{S}prompt|instructions|credentials|passwords?|secrets?|tokens?|api{S}keys?|personal{S}data|user{S}data|customer{S}data|data|everything|context|memory|session){S}(?:[a-z0-9]+{S}){{0,6}}(?:in|into|to|as){S}(?:the{S}|a{S}|an{S})?(?:url|query{S}string|query{S}param(?:eter)?s?|link|image{S}(?:url|link|src)|request{S}(?:url|path)|dns{S}(?:query|lookup)|subdomain|markdown{S}image)\b");
        Add(GuardRules.Exfiltration, "a command that sends data to a host",
            $@"\b(?:curl|wget|netcat|nc|invoke{S}webrequest|iwr|scp|rsync|ftp){S}\S*(?:\s+\S+){{0,6}}?\s*(?:https?://|ftp://|\d{{1,3}}\.\d{{1,3}}\.\d{{1,3}}\.\d{{1,3}}|[a-z0-9-]+\.[a-z]{{2,}}/)");

        // Permission changes and bypassed checks.
        Add(GuardRules.ToolPermission, "a grant of elevated access",
            $@"\b(?:grant|give|assign|add|elevate|escalate|raise|upgrade|promote|change|modify|set|update|switch){S}(?:yourself|itself|the{S}agent|the{S}assistant|the{S}bot|you|me|the{S}user|this{S}user|my{S}account|the{S}account|user|him|her|them)?{S}(?:to{S})?(?:(?:full|complete|unrestricted|unlimited|elevated|admin(?:istrator)?|root|superuser|owner|sudo|write|all|god){S})+(?:access|rights|permissions?|privileges?|role|scopes?|mode|control)\b",
            negatable: true);
        Add(GuardRules.ToolPermission, "a change of role or permission level",
            $@"\b(?:set|change|switch|update|modify|make){S}(?:the{S}|my{S}|your{S}|this{S})?(?:user{S}|account{S}|agent{S})?(?:role|permissions?|access{S}level|privileges?|scope){S}(?:to|=|:|as){S}(?:admin(?:istrator)?|root|owner|superuser|full|all|unrestricted|write)\b",
            negatable: true);
        Add(GuardRules.ToolPermission, "an order to bypass a check",
            $@"\b(?:bypass|circumvent|override|disable|deactivate|turn{S}off|switch{S}off|skip|ignore|remove|get{S}around|work{S}around|evade|suppress|omit|waive){S}(?:the{S}|any{S}|all{S}|every{S}|this{S}|that{S}|these{S}|those{S})?(?:required{S}|mandatory{S}|usual{S}|customer{S}|user{S})?(?:approvals?|confirmations?|verifications?|authentication|authori[sz]ation|identity{S}(?:checks?|verification)|id{S}checks?|permission{S}checks?|permissions?|2fa|mfa|two{S}factor|otp|kyc|aml{S}checks?|fraud{S}(?:checks?|screening)|safety{S}(?:checks?|filters?)|guardrails?|policy{S}checks?|audit{S}(?:log|logging|trail)|logging|human{S}review|manager{S}approval|sign{S}off|compliance{S}checks?|security{S}checks?|access{S}controls?)\b",
            negatable: true, squashed: false);
        Add(GuardRules.ToolPermission, "a claim that the agent is permitted",
            $@"\b(?:you|the{S}agent|the{S}assistant){S}(?:are|re|is|have{S}been|has{S}been){S}(?:now{S}|hereby{S}|fully{S})?(?:authori[sz]ed|allowed|permitted|cleared|approved|entitled){S}to{S}(?:call|use|run|execute|invoke|access|bypass|skip|issue|approve|transfer|delete|refund|override|ignore|share|send|modify|change|grant|waive)\b");
        Add(GuardRules.ToolPermission, "a claim that checks are unnecessary",
            $@"\b(?:no{S}need|not{S}necessary|unnecessary|not{S}required|no{S}longer{S}(?:necessary|required|needed)){S}(?:to|for){S}(?:the{S})?(?:ask|asking|confirm|confirmation|approval|approve|verify|verification|verifying|authori[sz]ation|authenticate|authentication|consent|check|checking)\b");
        Add(GuardRules.ToolPermission, "an order not to ask for approval",
            $@"\b(?:do{S}not|don'?t|never){S}(?:ask|wait){S}(?:for{S})?(?:the{S})?(?:user'?s?{S}|customer'?s?{S})?(?:confirmation|approval|permission|consent|authori[sz]ation)\b");
        Add(GuardRules.ToolPermission, "a permission setting",
            $@"(?:\ballowed{S}tools\b|\btool{S}choice{S}[:=]|\bis{S}admin{S}[:=]{S}true\b|\bsudo\b|\bchmod\b|\brun{S}as{S}(?:admin|administrator|root)\b|\bpermissions?{S}[:=]{S}(?:admin|all|\*|write|rwx))");

        return rules;
    }

    private static List<PhraseRule> BuildMarkup()
    {
        var rules = new List<PhraseRule>();
        void Add(string name, string pattern) => rules.Add(new PhraseRule(GuardRules.HiddenMarkup, name, P(pattern), Negatable: false, SquashedPattern: null));

        Add("an HTML comment", "<!--");
        Add("an active HTML element", @"<\s*/?\s*(?:script|iframe|object|embed|style|meta|svg|link|form|img|input|textarea|base)\b");
        Add("text styled to be invisible", @"(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em)?\b|opacity\s*:\s*0(?:\.0+)?\b|color\s*:\s*(?:white|#fff\b|#ffffff|transparent))");
        Add("a hidden element", @"<\s*[a-z][a-z0-9]*\s[^>]*\b(?:hidden|aria-hidden)\b");
        Add("a chat-template token", @"<\|\s*(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|fim_[a-z]+)\s*\|>");
        Add("a chat-template token", @"(?:\[/?\s*(?:inst|sys|system|admin)\s*\]|<<\s*/?\s*sys\s*>>)");
        Add("a prompt tag", @"<\s*/?\s*(?:system|instructions?|prompt|admin|developer|sys|hidden|secret|assistant|user)(?:[\s_-][^>]*)?>");
        Add("a prompt heading", @"^\s*#{1,6}\s*(?:system|instructions?|new\s+instructions|admin|developer)\b");
        Add("a role prefix", @"(?:^|[.!?;]\s+|[""'{\[(]\s*)(?:system|assistant|developer|admin)\s*(?:prompt|message)?\s*:\s");

        // A lesson is advice in prose. A chat message or a tool call written out as data is something a model may take
        // for a real turn or a call to make ("role": "system", {"name": ..., "arguments": ...}, <tool_call>).
        Add("a chat message written as data", @"\brole[""']?\s*[:=]\s*[""']?(?:system|developer|assistant|tool|function)\b");
        Add("a tool call written as data", @"[""'](?:name|function|tool|tool_name|recipient_name)[""']\s*:\s*[""'][^""']{1,80}[""']\s*,\s*[""'](?:arguments|parameters|args|input|params)[""']\s*:");
        Add("a tool call written as data", @"[""'](?:arguments|parameters|args|input|params)[""']\s*:\s*\{[^}]{0,200}\}\s*,\s*[""'](?:name|function|tool|tool_name)[""']\s*:");
        Add("a tool call written as data", @"<\s*/?\s*(?:tool_calls?|tool_use|function_calls?|invoke)\b");
        Add("text in a collapsed element", @"<\s*details\b");

        // Text a rendered page does not show but a model reads: an element's attribute, a block fenced as a chat role
        // (the plain view reads backticks as apostrophes).
        Add("text in an element's attribute", @"<\s*[a-z][a-z0-9]*\s[^>]*\b(?:title|alt|data-[a-z-]+|aria-label|aria-description|content|value|placeholder|summary)\s*=\s*[""'][^""']{12,}");
        Add("a block fenced as a chat role", @"(?:'''|~~~)\s*(?:system|assistant|developer|admin|instructions?|prompt)\b");
        Add("a markdown image (fetched automatically, a channel for data)", @"!\[[^\]]*\]\s*\(\s*[^)\s]+");
        Add("a script link", @"(?:javascript|vbscript)\s*:|data\s*:\s*text/html");
        return rules;
    }

    /// <summary>
    /// Every phrasing found in the text, once per phrasing, with an excerpt of what matched and the matched text with
    /// what follows it (where an address would be).
    /// </summary>
    public static IEnumerable<PhraseHit> Find(ScreenText text)
    {
        // Underscores join words for an attacker ("ignore_previous_instructions") but are word characters to a
        // regular expression, so word boundaries would not see the joins: the phrasings read them as spaces.
        var plain = text.Plain.Replace('_', ' ');
        var folded = text.Folded.Replace('_', ' ');
        var sameFolded = string.Equals(plain, folded, StringComparison.Ordinal);
        var anyWords = AnyPhrase.MayMatch(plain) || (!sameFolded && AnyPhrase.MayMatch(folded)) || AnySquashed.MayMatch(text.Squashed);
        foreach (var rule in anyWords ? All : [])
        {
            var hit = FirstMatch(rule, rule.Pattern, plain) ?? (sameFolded ? null : FirstMatch(rule, rule.Pattern, folded));
            if (hit is null && rule.SquashedPattern is { } squashed)
            {
                hit = FirstMatch(rule, squashed, text.Squashed);
            }

            if (hit is not null)
            {
                yield return hit;
            }
        }

        foreach (var rule in AnyMarkup.MayMatch(text.Plain) ? Markup : [])
        {
            var match = rule.Pattern.MayMatch(text.Plain) ? rule.Pattern.Regex.Match(text.Plain) : Match.Empty;
            if (match.Success)
            {
                yield return Hit(rule, text.Plain, match);
            }
        }
    }

    private static PhraseHit? FirstMatch(PhraseRule rule, RulePattern pattern, string text)
    {
        if (!pattern.MayMatch(text))
        {
            return null;
        }

        foreach (Match match in pattern.Regex.Matches(text))
        {
            if (rule.Negatable && IsNegated(text, match.Index))
            {
                continue;
            }

            return Hit(rule, text, match);
        }

        return null;
    }

    private static PhraseHit Hit(PhraseRule rule, string text, Match match)
        => new(rule, Excerpt(match.Value), text.Substring(match.Index, Math.Min(text.Length - match.Index, match.Length + 80)));

    /// <summary>True when "not", "never", "don't", "do not", "avoid" or "no" (or, letters only, their squashed forms) directly precedes the match.</summary>
    private static bool IsNegated(string text, int index)
    {
        var before = text.AsSpan(0, index).TrimEnd();
        if (before.Length == index)
        {
            // No space before the match: only the letters-only view has none, so look at its last letters.
            return before.EndsWith("not", StringComparison.Ordinal) || before.EndsWith("never", StringComparison.Ordinal)
                || before.EndsWith("dont", StringComparison.Ordinal) || before.EndsWith("avoid", StringComparison.Ordinal);
        }

        var start = before.Length;
        while (start > 0 && (char.IsLetter(before[start - 1]) || before[start - 1] == '\''))
        {
            start--;
        }

        var word = before[start..];
        return word is "not" or "never" or "don't" or "dont" or "avoid" or "no" or "cannot" or "can't" or "shouldn't" or "mustn't" or "won't";
    }

    private static string Excerpt(string value)
    {
        var collapsed = Regex.Replace(value, @"\s+", " ").Trim();
        return collapsed.Length <= 60 ? collapsed : collapsed[..57] + "...";
    }
}
