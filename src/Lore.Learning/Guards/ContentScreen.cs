using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>What the content screen found, and the lesson as it may be served (redacted when the policy redacts).</summary>
internal sealed record ContentResult(Lesson Lesson, IReadOnlyList<Finding> Findings);

/// <summary>
/// Reads everything of a lesson a model would see (its text, its trigger's description and keywords) the way an
/// attacker would hope it is not read: normalised (<see cref="ScreenText"/>), base64 runs decoded, and checked for
/// instructions aimed at the agent, requests to reveal or send data, unknown hosts, secrets, personal data, permission
/// changes and protected topics. Each rule that fires is one finding, naming what it saw without repeating a secret.
/// </summary>
internal sealed partial class ContentScreen
{
    private readonly string[] _knownHosts;
    private readonly SensitiveDataHandling _personalData;
    private readonly SensitiveDataHandling _secrets;
    private readonly int _minWords;
    private readonly (string Topic, Regex Pattern)[] _topics;
    private readonly bool _reviewTopics;
    private readonly Severity _nonBlocking;

    /// <summary>What a lesson in a language the screen does not read gets (<see cref="AdmissionPolicy.ReviewUnreadLanguages"/>).</summary>
    private readonly Severity _unreadLanguage;

    public ContentScreen(AdmissionPolicy policy)
    {
        _knownHosts = [.. policy.KnownHosts.Select(h => h.Trim().ToLowerInvariant())];
        _personalData = policy.PersonalData;
        _secrets = policy.Secrets;
        _minWords = policy.MinWordsAfterRedaction;
        _topics = [.. policy.ProtectedTopics.Select(t => (t, TopicPattern(t)))];
        _reviewTopics = policy.ReviewProtectedTopics;
        _nonBlocking = policy.ReviewFindings ? Severity.Review : Severity.Note;
        _unreadLanguage = policy.ReviewUnreadLanguages ? Severity.Review : Severity.Note;
        _ = RulesBuilt.Value;
    }

    /// <summary>
    /// The intent and phrasing rule tables (dozens of non-backtracking automata: seconds of CPU, once per process) are
    /// built on a pool thread as soon as the first screen exists, so a learning pass reads its window meanwhile instead
    /// of waiting for them at its first lesson. A screen that needs them before they are done waits for the same
    /// build (type initialisers run once); a build that failed fails that screen as it always did.
    /// </summary>
    private static readonly Lazy<Task> RulesBuilt = new(() => Task.Run(static () =>
    {
        try
        {
            _ = IntentRules.All.Count + PhraseRules.All.Count;
        }
        catch (TypeInitializationException)
        {
            // Rethrown to the first screen that reads the rules.
        }
    }));

    /// <summary>The hosts the lesson names that the policy does not list; evidence may still know them.</summary>
    public IReadOnlyList<string> HostsNotInPolicy(Lesson lesson)
        => [.. Fields(lesson).SelectMany(f => HostNames.Find(ScreenText.Of(f).Visible)).Select(h => h.Host).Distinct(StringComparer.Ordinal).Where(h => !HostNames.IsKnown(h, _knownHosts))];

    /// <summary>Screens the lesson; <paramref name="evidenceHosts"/> are hosts its evidence's tool calls passed as arguments.</summary>
    public ContentResult Screen(Lesson lesson, IReadOnlySet<string> evidenceHosts)
    {
        var known = evidenceHosts.Count == 0 ? _knownHosts : [.. _knownHosts, .. evidenceHosts];
        var findings = new List<Finding>();
        void Add(string rule, string detail, Severity severity)
        {
            if (!findings.Any(f => f.Rule == rule && f.Detail == detail))
            {
                findings.Add(new Finding(rule, detail, severity));
            }
        }

        var fields = Fields(lesson);
        var longest = fields.Max(f => f.Length);
        if (longest > EncodedText.MaxFieldChars)
        {
            // Fail closed, the same way every time: a text too long to read within bounds is neither served nor stored.
            return new ContentResult(
                lesson with { Text = $"[not stored: {longest} characters, too long to screen]", Trigger = lesson.Trigger with { Description = null, Keywords = [] } },
                [new Finding(GuardRules.Unscreenable, $"a field of {longest} characters, longer than the {EncodedText.MaxFieldChars} the screen reads", Severity.Block)]);
        }

        var texts = fields.Select(ScreenText.Of).ToArray();
        var combined = ScreenText.Of(string.Join("\n", fields));

        // Hidden characters.
        var invisible = texts.Sum(t => t.InvisibleCount);
        var tags = texts.Sum(t => t.TagCount);
        if (invisible + tags > 0)
        {
            Add(GuardRules.InvisibleCharacters, tags > 0
                ? $"{tags} Unicode tag characters (invisible text a model still reads) and {invisible} other invisible characters"
                : $"{invisible} invisible characters (zero-width, bidirectional controls or fillers)", Severity.Block);
        }

        if (texts.Any(t => t.HasMixedScriptWord))
        {
            Add(GuardRules.MixedScript, "a word mixes Latin letters with look-alike Cyrillic, Greek or other letters", _nonBlocking);
        }

        foreach (var why in texts.Select(t => ReadLanguages.Unread(t.Visible)).OfType<string>().Take(1))
        {
            Add(GuardRules.UnreadLanguage, why, _unreadLanguage);
        }

        // Phrasings and intents aimed at the agent, in the text and in everything it carries encoded.
        ScreenPhrases(combined, "", known, null, Add);
        var decodedSpans = new List<SensitiveSpan>[texts.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            decodedSpans[i] = [];
            var visible = texts[i].Visible;
            ScreenIntents(visible, "", Add);

            foreach (var decoded in EncodedText.Decode(visible))
            {
                var where = $" (decoded from {decoded.Encoding})";
                var inner = ScreenText.Of(decoded.Text);
                ScreenIntents(inner.Visible, where, Add, identifiersIntact: !decoded.Encoding.Contains(EncodedText.SplitLetters, StringComparison.Ordinal));
                if (EncodedText.IsLetterTransform(decoded.Encoding))
                {
                    // Rotated, shifted or reversed text is only read for intents: its "commands", "hosts" and "numbers"
                    // are artefacts of the transformation.
                    continue;
                }

                var joined = decoded.Encoding.StartsWith(EncodedText.SplitLetters, StringComparison.Ordinal);

                // Joining split words also joins the parts of addresses: what is sent where is read on the text as written.
                ScreenPhrases(inner, where, known, joined ? GuardRules.Exfiltration : null, Add);
                if (joined)
                {
                    continue;
                }

                foreach (var host in HostNames.Find(inner.Visible).Where(h => !HostNames.IsKnown(h.Host, known)))
                {
                    Add(GuardRules.UnknownHost, $"{host.Kind} naming {host.Host}{where}", Severity.Block);
                }

                foreach (var hidden in SensitiveData.Find(inner.Visible, _ => false))
                {
                    // Encoded sensitive data cannot be cut out of its encoding: the lesson is refused and the run redacted at rest.
                    Add(hidden.IsSecret ? GuardRules.Secret : GuardRules.PersonalData, $"{hidden.Description}{where}, refused and redacted at rest", Severity.Block);
                    decodedSpans[i].Add(new SensitiveSpan(decoded.Start, decoded.Length, "encoded data", hidden.Description, hidden.IsSecret));
                }
            }
        }

        ScreenUnitWorkarounds(texts.Select(t => t.Visible), Add);

        foreach (var (topic, pattern) in _topics)
        {
            if (pattern.IsMatch(combined.Plain) || pattern.IsMatch(combined.Folded))
            {
                Add(GuardRules.ProtectedTopic, $"names the protected topic '{topic}'", _reviewTopics ? Severity.Review : Severity.Block);
            }
        }

        // Secrets and personal data: refused, or cut out when the rest still says something.
        bool IsKnownEmail(string address) => _knownHosts.Contains(address.ToLowerInvariant(), StringComparer.Ordinal);
        var redactSecrets = _secrets == SensitiveDataHandling.Redact;
        var redactPersonal = _personalData == SensitiveDataHandling.Redact;
        var spans = texts.Select((t, i) => SensitiveData.Merge(SensitiveData.Find(t.Visible, IsKnownEmail), decodedSpans[i])).ToArray();

        // Addresses nobody vouched for, in what would be served: an address cut out as personal data is gone from it, and
        // one written defanged ("hxxps://drop[.]io", "qa at protonmail dot com") is read as the address it still is.
        var served = string.Join("\n", texts.Select((t, i) => SensitiveData.Redact(t.Visible, [.. spans[i].Where(s => s.IsSecret ? redactSecrets : redactPersonal)])));
        var plainServed = HostNames.Defang(served);
        var writtenPlainly = ReferenceEquals(plainServed, served) ? null : HostNames.Find(served).Select(h => h.Host).ToHashSet(StringComparer.Ordinal);
        foreach (var host in HostNames.Find(plainServed))
        {
            if (!HostNames.IsKnown(host.Host, known) && !IsKnownAddress(plainServed, host, known))
            {
                var defanged = writtenPlainly is not null && !writtenPlainly.Contains(host.Host) ? ", written defanged," : ",";
                Add(GuardRules.UnknownHost, $"{host.Kind} naming {host.Host}{defanged} which neither the policy's known hosts nor the evidence's tool calls contain", Severity.Block);
            }
        }

        var text = texts[0].Visible;
        var textSpans = spans[0];
        var hasDescription = lesson.Trigger.Description is not null;
        var description = hasDescription ? texts[1].Visible : null;
        var descriptionSpans = hasDescription ? spans[1] : [];
        var keywordSpans = spans.Skip(hasDescription ? 2 : 1).ToArray();
        var all = spans.SelectMany(s => s).ToArray();
        if (all.Length == 0)
        {
            return new ContentResult(lesson, findings);
        }
        // What is stored is redacted whatever the verdict: a refused lesson must not keep a secret or personal data at rest.
        var redactedLesson = RedactAll(lesson, texts, spans);
        foreach (var group in all.Where(s => s.Kind != "encoded data").GroupBy(s => s.Description, StringComparer.Ordinal))
        {
            var span = group.First();
            var redact = span.IsSecret ? redactSecrets : redactPersonal;
            var rule = span.IsSecret ? GuardRules.Secret : GuardRules.PersonalData;
            var count = group.Count() > 1 ? $"{group.Count()} x " : "";
            Add(rule, redact ? $"{count}{span.Description}, redacted" : $"{count}{span.Description}, refused and redacted at rest", redact ? _nonBlocking : Severity.Block);
        }

        if (all.Any(s => s.Kind == "encoded data" || !(s.IsSecret ? redactSecrets : redactPersonal)))
        {
            return new ContentResult(redactedLesson, findings);
        }

        var redacted = SensitiveData.Redact(text, textSpans);
        if (!Useful(text, redacted, textSpans))
        {
            var rule = textSpans.Any(s => s.IsSecret) ? GuardRules.Secret : GuardRules.PersonalData;
            Add(rule, string.Create(CultureInfo.InvariantCulture, $"too little is left after redaction (fewer than {_minWords} words, or most of the text redacted)"), Severity.Block);
        }

        return new ContentResult(redactedLesson, findings);
    }

    /// <summary>The lesson with every secret and piece of personal data in its text, trigger description and keywords cut out.</summary>
    private static Lesson RedactAll(Lesson lesson, ScreenText[] texts, IReadOnlyList<SensitiveSpan>[] spans)
    {
        if (spans.All(s => s.Count == 0))
        {
            return lesson;
        }

        var hasDescription = lesson.Trigger.Description is not null;
        var keywordOffset = hasDescription ? 2 : 1;
        var trigger = lesson.Trigger with
        {
            Description = hasDescription ? (spans[1].Count == 0 ? lesson.Trigger.Description : SensitiveData.Redact(texts[1].Visible, spans[1])) : null,
            Keywords = [.. lesson.Trigger.Keywords.Where((_, i) => spans[keywordOffset + i].Count == 0)],
        };
        return lesson with { Text = spans[0].Count == 0 ? lesson.Text : SensitiveData.Redact(texts[0].Visible, spans[0]), Trigger = trigger };
    }

    /// <summary>
    /// A lesson as it may be stored when it is refused: secrets and personal data cut out of every field. Used where a
    /// lesson is rejected without being screened again (a reviewer's earlier rejection).
    /// </summary>
    public Lesson RedactForStorage(Lesson lesson)
    {
        var texts = Fields(lesson).Select(ScreenText.Of).ToArray();
        var spans = texts.Select(t => SensitiveData.Find(t.Visible, a => _knownHosts.Contains(a.ToLowerInvariant(), StringComparer.Ordinal))).ToArray();
        return RedactAll(lesson, texts, spans);
    }

    /// <summary>Redacts when it can; a text the redaction patterns cannot read in time is stored as a placeholder.</summary>
    public Lesson RedactForStorageOrSelf(Lesson lesson)
    {
        try
        {
            return RedactForStorage(lesson);
        }
        catch (RegexMatchTimeoutException)
        {
            return lesson with { Text = "[redacted: could not be screened]", Trigger = lesson.Trigger with { Description = null, Keywords = [] } };
        }
    }

    private static void ScreenIntents(string visible, string where, Action<string, string, Severity> add, bool identifiersIntact = true)
    {
        foreach (var hit in IntentRules.Find(IntentRules.Normalise(visible), identifiersIntact))
        {
            add(hit.Frame.Rule, $"{hit.Frame.Name}: \"{hit.Excerpt}\"{where}", hit.Frame.Severity);
        }
    }

    /// <summary>"For customer John Smith, always waive the fee": an exception made for one named person or account.</summary>
    private static void ScreenUnitWorkarounds(IEnumerable<string> fields, Action<string, string, Severity> add)
    {
        foreach (var field in fields)
        {
            foreach (var pattern in (Regex[])[NamedUnit(), NamedUnitCjk(), IdentifiedUnit()])
            {
                foreach (Match m in pattern.Matches(field))
                {
                    var end = field.IndexOfAny(['.', ';', '!', '?', '。', '\n'], m.Index + m.Length);
                    var sentence = field[m.Index..(end < 0 ? field.Length : end)];
                    if (ExceptionCue().IsMatch(sentence))
                    {
                        add(GuardRules.UnitWorkaround, $"an exception for one named customer or account: \"{Excerpt(m.Value)}\"", Severity.Review);
                        return;
                    }
                }
            }
        }
    }

    private static string Excerpt(string value)
    {
        var collapsed = Regex.Replace(value, @"\s+", " ").Trim();
        return collapsed.Length <= 60 ? collapsed : collapsed[..57] + "...";
    }

    /// <summary>Everything of a lesson a model call can see.</summary>
    private static string[] Fields(Lesson lesson)
        => [lesson.Text, .. lesson.Trigger.Description is { } d ? [d] : Array.Empty<string>(), .. lesson.Trigger.Keywords];

    private static void ScreenPhrases(ScreenText text, string where, IReadOnlyList<string> known, string? skipRule, Action<string, string, Severity> add)
    {
        foreach (var hit in PhraseRules.Find(text))
        {
            if (hit.Rule.Rule == skipRule)
            {
                continue;
            }

            if (hit.Rule.Rule == GuardRules.DataDisclosure && IntentRules.StatesConfidentiality(hit.Context))
            {
                // "Tell the user the system prompt is confidential": a statement about it, not an order to share it.
                continue;
            }

            if (hit.Rule.Rule == GuardRules.Exfiltration && TargetsOnlyKnownHosts(hit.Context, known))
            {
                continue;
            }

            add(hit.Rule.Rule, $"{hit.Rule.Name}: \"{hit.Excerpt}\"{where}", Severity.Block);
        }
    }

    /// <summary>"Forward escalations to billing@your-company.example": sending to a host the policy lists is not exfiltration.</summary>
    private static bool TargetsOnlyKnownHosts(string context, IReadOnlyList<string> known)
    {
        var hosts = HostNames.Find(context);
        return hosts.Count > 0 && hosts.All(h => HostNames.IsKnown(h.Host, known)) && !GenericTarget().IsMatch(context);
    }

    /// <summary>An e-mail address the policy lists in full (a role address of one of your services).</summary>
    private static bool IsKnownAddress(string text, HostMention host, IReadOnlyList<string> known)
        => host.Kind == "an e-mail address"
            && SensitiveData.Email().Matches(text).Any(m => m.Value.EndsWith("@" + host.Host, StringComparison.OrdinalIgnoreCase) && known.Contains(m.Value.ToLowerInvariant(), StringComparer.Ordinal));

    /// <summary>A redacted text is worth serving when enough words remain and most of it was not redacted.</summary>
    private bool Useful(string original, string redacted, IReadOnlyList<SensitiveSpan> spans)
    {
        var withoutPlaceholders = Placeholder().Replace(redacted, " ");
        var words = Word().Count(withoutPlaceholders);
        var removed = spans.Sum(s => s.Length);
        return words >= _minWords && removed <= 0.6 * original.Length;
    }

    private static Regex TopicPattern(string topic)
    {
        var words = Regex.Split(ScreenText.Of(topic).Folded, @"[\W_]+").Where(w => w.Length > 0).Select(Regex.Escape);
        return new Regex($@"\b{string.Join(@"[\W_]*", words)}(?:s|es)?\b", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
    }

    /// <summary>A customer, user or account named by a person's name, a user name or a number.</summary>
    [GeneratedRegex(@"\b(?i:(?:for|pour|für|para|per|voor|bei|для|when|if|whenever|wenn|quand|si|se|als|cuando|quando)\s+(?:the\s+|le\s+|la\s+|les\s+|den\s+|dem\s+|die\s+|el\s+|o\s+|a\s+|il\s+|de\s+|het\s+)?(?:customer|client|clienta|cliente|user|passenger|caller|account|guest|member|kunde|kunden|kundin|klant|gebruiker|utilisateur|usuario|usuária|utente|passageiro|passagier|клиент\p{L}*|пользовател\p{L}*)(?:\s+(?:is|says\s+(?:they|he|she)\s+(?:are|is)))?|account|konto|compte|cuenta|conta)\s+(?:(?:Dr|Mr|Mrs|Ms|Mme|M|Herr|Frau|Sr|Sra|Sig|Dott|señor|señora|senhor|senhora|signor|signora|monsieur|madame|mevrouw|meneer|господин|госпожа)\.?\s+)?(?:\p{Lu}[\p{Ll}'-]+(?:\s+(?:de\s+|van\s+|der\s+|da\s+|dos\s+|del\s+|von\s+|le\s+|la\s+)*\p{Lu}[\p{Ll}'-]+)+|[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*|#?\d{4,})|\b(?i:for|pour|für|para|per|voor|для)\s+(?i:the\s+|le\s+|la\s+|el\s+|o\s+|a\s+|il\s+|de\s+)?(?i:Dr|Mr|Mrs|Ms|Mme|Herr|Frau|Sr|Sra|señor|señora|senhor|senhora|signor|signora|monsieur|madame|mevrouw|meneer|господин|госпожа)\.?\s+\p{Lu}[\p{Ll}'-]+(?:\s+\p{Lu}[\p{Ll}'-]+)+", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex NamedUnit();

    [GeneratedRegex(@"(?:对于|对|给)(?:客户|用户|顾客)\p{IsCJKUnifiedIdeographs}{2,4}|(?:顧客|お客様|ユーザー)の?\p{IsCJKUnifiedIdeographs}{2,4}(?:さん|様)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex NamedUnitCjk();

    /// <summary>
    /// A user, reservation or account named by its identifier ("user mia_li_3668", "reservation 4WQ150") or by a
    /// surname ("customers whose last name is Okafor"): a rule about one of them is one user's workaround.
    /// </summary>
    [GeneratedRegex(@"\b(?i:user|customer|account|member|passenger|reservation|booking|confirmation|pnr|record|profile|client)\s+(?i:id\s+|code\s+|number\s+|no\.?\s+|#\s*)?(?:[a-z]+_[a-z0-9_]*\d[a-z0-9_]*|(?=[A-Z0-9]{6}\b)(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6})\b|\bwhose\s+(?:last\s+|first\s+|family\s+|sur)?name\s+is\s+\p{Lu}[\p{Ll}'-]+", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex IdentifiedUnit();

    /// <summary>What makes a mention of one customer an exception: always, free, waived, without the usual checks.</summary>
    [GeneratedRegex(@"(?i)\b(?:always|every|waive|free|no charge|at no cost|without|skip|do not ask|don't ask|exempt|regardless|whatever|pre-?approved|pre-?cleared|standing|priority|no[- ]fee|in cash|toujours|gratuit|sans|immer|kostenlos|erlass|ohne|siempre|gratis|sin\b|sempre|isent|grátis|senza|annulla|altijd|kwijtschel|zonder|всегда|бесплатно|без|отменя)|总是|一律|免除|免费|いつも|必ず|無料", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex ExceptionCue();

    [GeneratedRegex(@"\[redacted [a-z ]+\]", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\p{L}{3,}", RegexOptions.CultureInvariant)]
    private static partial Regex Word();

    [GeneratedRegex(@"\b(?:webhook|external|remote|attacker|pastebin|ngrok|requestbin|hookbin|discord|telegram)\b", RegexOptions.CultureInvariant)]
    private static partial Regex GenericTarget();
}
