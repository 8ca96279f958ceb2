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

    public ContentScreen(AdmissionPolicy policy)
    {
        _knownHosts = [.. policy.KnownHosts.Select(h => h.Trim().ToLowerInvariant())];
        _personalData = policy.PersonalData;
        _secrets = policy.Secrets;
        _minWords = policy.MinWordsAfterRedaction;
        _topics = [.. policy.ProtectedTopics.Select(t => (t, TopicPattern(t)))];
        _reviewTopics = policy.ReviewProtectedTopics;
        _nonBlocking = policy.ReviewFindings ? Severity.Review : Severity.Note;
    }

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
            Add(GuardRules.MixedScript, "a word mixes Latin letters with look-alike Cyrillic or Greek ones", _nonBlocking);
        }

        // Phrasings aimed at the agent, in the text and in any base64 it carries.
        ScreenPhrases(combined, "", known, Add);
        foreach (var decoded in Base64Payloads(combined.Visible))
        {
            var inner = ScreenText.Of(decoded);
            ScreenPhrases(inner, " (decoded from base64)", known, Add);
            foreach (var host in HostNames.Find(inner.Visible).Where(h => !HostNames.IsKnown(h.Host, known)))
            {
                Add(GuardRules.UnknownHost, $"{host.Kind} naming {host.Host} (decoded from base64)", Severity.Block);
            }
        }

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
        var spans = texts.Select(t => SensitiveData.Find(t.Visible, IsKnownEmail)).ToArray();

        // Addresses nobody vouched for, in what would be served: an address cut out as personal data is gone from it.
        var served = string.Join("\n", texts.Select((t, i) => SensitiveData.Redact(t.Visible, [.. spans[i].Where(s => s.IsSecret ? redactSecrets : redactPersonal)])));
        foreach (var host in HostNames.Find(served))
        {
            if (!HostNames.IsKnown(host.Host, known) && !IsKnownAddress(served, host, known))
            {
                Add(GuardRules.UnknownHost, $"{host.Kind} naming {host.Host}, which neither the policy's known hosts nor the evidence's tool calls contain", Severity.Block);
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
        foreach (var group in all.GroupBy(s => s.Description, StringComparer.Ordinal))
        {
            var span = group.First();
            var redact = span.IsSecret ? redactSecrets : redactPersonal;
            var rule = span.IsSecret ? GuardRules.Secret : GuardRules.PersonalData;
            var count = group.Count() > 1 ? $"{group.Count()} x " : "";
            Add(rule, redact ? $"{count}{span.Description}, redacted" : $"{count}{span.Description}", redact ? _nonBlocking : Severity.Block);
        }

        if (all.Any(s => !(s.IsSecret ? redactSecrets : redactPersonal)))
        {
            return new ContentResult(lesson, findings);
        }

        var redacted = SensitiveData.Redact(text, textSpans);
        if (!Useful(text, redacted, textSpans))
        {
            var rule = textSpans.Any(s => s.IsSecret) ? GuardRules.Secret : GuardRules.PersonalData;
            Add(rule, string.Create(CultureInfo.InvariantCulture, $"too little is left after redaction (fewer than {_minWords} words, or most of the text redacted)"), Severity.Block);
            return new ContentResult(lesson, findings);
        }

        var trigger = lesson.Trigger with
        {
            Description = description is null ? null : SensitiveData.Redact(description, descriptionSpans),
            Keywords = [.. lesson.Trigger.Keywords.Where((_, i) => keywordSpans[i].Count == 0)],
        };
        return new ContentResult(lesson with { Text = redacted, Trigger = trigger }, findings);
    }

    /// <summary>Everything of a lesson a model call can see.</summary>
    private static string[] Fields(Lesson lesson)
        => [lesson.Text, .. lesson.Trigger.Description is { } d ? [d] : Array.Empty<string>(), .. lesson.Trigger.Keywords];

    private static void ScreenPhrases(ScreenText text, string where, IReadOnlyList<string> known, Action<string, string, Severity> add)
    {
        foreach (var hit in PhraseRules.Find(text))
        {
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

    /// <summary>Base64 runs long enough to hide a sentence, decoded when they decode to readable text.</summary>
    private static IEnumerable<string> Base64Payloads(string text)
    {
        foreach (Match m in Base64Run().Matches(text))
        {
            var value = m.Value.Replace('-', '+').Replace('_', '/');
            var padded = value.TrimEnd('=');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(padded);
            }
            catch (FormatException)
            {
                continue;
            }

            var decoded = Encoding.UTF8.GetString(bytes);
            var readable = decoded.Count(c => c is '\n' or '\r' or '\t' || (c >= ' ' && c < '\u007F') || char.IsLetter(c));
            if (decoded.Length >= 8 && readable >= 0.9 * decoded.Length && decoded.Any(char.IsLetter))
            {
                yield return decoded;
            }
        }
    }

    private static Regex TopicPattern(string topic)
    {
        var words = Regex.Split(ScreenText.Of(topic).Folded, @"[\W_]+").Where(w => w.Length > 0).Select(Regex.Escape);
        return new Regex($@"\b{string.Join(@"[\W_]*", words)}(?:s|es)?\b", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
    }

    [GeneratedRegex(@"[A-Za-z0-9+/_-]{20,}={0,2}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Base64Run();

    [GeneratedRegex(@"\[redacted [a-z ]+\]", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"\p{L}{3,}", RegexOptions.CultureInvariant)]
    private static partial Regex Word();

    [GeneratedRegex(@"\b(?:webhook|external|remote|attacker|pastebin|ngrok|requestbin|hookbin|discord|telegram)\b", RegexOptions.CultureInvariant)]
    private static partial Regex GenericTarget();
}
