using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>A piece of sensitive data found in a text: where, what kind, and a description safe to store.</summary>
internal readonly record struct SensitiveSpan(int Start, int Length, string Kind, string Description, bool IsSecret);

/// <summary>
/// Finds secrets (API keys and tokens by their published shapes, private keys, bearer tokens, passwords, credentials
/// in URLs, high-entropy tokens) and personal data (e-mail addresses, phone numbers, card numbers passing the Luhn
/// check, IBANs passing mod-97, SSN-like numbers) in a lesson's visible text. Descriptions never repeat the value:
/// at most its first characters for a key, nothing for a password or personal data.
/// </summary>
internal static partial class SensitiveData
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    private static readonly (string Kind, Regex Pattern, int Shown)[] SecretPatterns =
    [
        ("an AWS access key", new Regex(@"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b", RegexOptions.CultureInvariant, Timeout), 4),
        ("a GitHub token", new Regex(@"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})", RegexOptions.CultureInvariant, Timeout), 4),
        ("a GitLab token", new Regex(@"\bglpat-[A-Za-z0-9_-]{20,}", RegexOptions.CultureInvariant, Timeout), 6),
        ("an OpenAI or Anthropic API key", new Regex(@"\bsk-(?:proj-|ant-|live-|svcacct-)?[A-Za-z0-9_-]{20,}", RegexOptions.CultureInvariant, Timeout), 3),
        ("a Stripe key", new Regex(@"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}", RegexOptions.CultureInvariant, Timeout), 8),
        ("a Slack token", new Regex(@"\bxox[abposr]-[A-Za-z0-9-]{10,}", RegexOptions.CultureInvariant, Timeout), 5),
        ("a Slack webhook", new Regex(@"hooks\.slack\.com/services/[A-Za-z0-9/_-]+", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, Timeout), 0),
        ("a Google API key", new Regex(@"\bAIza[0-9A-Za-z_-]{35}\b", RegexOptions.CultureInvariant, Timeout), 4),
        ("a JSON web token", new Regex(@"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", RegexOptions.CultureInvariant, Timeout), 3),
        ("a private key", new Regex(@"-----BEGIN[A-Z ]*PRIVATE KEY(?: BLOCK)?-----", RegexOptions.CultureInvariant, Timeout), 0),
        ("a bearer token", new Regex(@"\b(?:bearer|token)\s+[A-Za-z0-9._~+/-]{16,}=*", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, Timeout), 0),
        ("an authorization header", new Regex(@"\bauthorization\s*[:=]\s*(?:basic|bearer|token|digest)\s+\S{8,}", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, Timeout), 0),
        ("credentials in a URL", new Regex(@"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, Timeout), 0),
        ("a password in a connection string", new Regex(@"\b(?:password|pwd)\s*=\s*[^;\s]{3,}", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, Timeout), 0),
    ];

    /// <summary>"password is hunter2", "api_key: abc123...": a credential word followed by a value that looks like one.</summary>
    [GeneratedRegex(@"\b(?<name>passwords?|passwd|pwd|passphrase|passcode|pin(?:\s+code)?|secret|client[_\s-]?secret|api[_\s-]?key|apikey|access[_\s-]?key|access[_\s-]?token|auth[_\s-]?token|token)\b\s*(?:is|was|=|:|->)\s*[""'`]?(?<value>[^\s""'`,;]{4,})", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex CredentialAssignment();

    /// <summary>Long runs of key-like characters; a secret when mixed-case, with digits and high entropy.</summary>
    [GeneratedRegex(@"[A-Za-z0-9_\-+/=]{32,}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex LongToken();

    /// <summary>"Le mot de passe administrateur est Paris2024!", "Das Passwort für das Backoffice lautet Sommer#2025".</summary>
    [GeneratedRegex(@"\b(?<name>passwor[dt]|kennwort|mot de passe|contrase[ñn]a|clave|senha|wachtwoord|parola d'ordine|пароль|login|credentials?|creds|zugangsdaten|identifiants|credenciales|credenciais|credenziali|inloggegevens|密码|パスワード)\b(?:\s+[\p{L}'’]+){0,4}?\s*(?:is|are|was|lautet|lauten|ist|sind|est|sont|es|son|é|são|è|sono|zijn|:|=|—|-|是|は)\s*[""'`]?(?<value>[^\s""'`,;]{4,}(?:\s*/\s*[^\s""'`,;]{4,})?)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex PasswordStatement();

    /// <summary>A birth date after the words that introduce one, in the languages the screen reads.</summary>
    [GeneratedRegex(@"\b(?:born(?:\s+on)?|DOB|d\.o\.b\.?|date\s+of\s+birth|birth\s*date|birthday|née?\s+le|geboren(?:\s+am|\s+op)?|nacid[oa](?:\s+el)?|fecha\s+de\s+nacimiento|nascid[oa](?:\s+em)?|data\s+de\s+nascimento|nat[oa]\s+il|data\s+di\s+nascita|geboortedatum|родил(?:ся|ась)|дата\s+рождения)\s*[:(]?\s*(?<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|(?:\d{1,2}\.?\s+)?\p{L}{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}\.?\s+\p{L}{3,9}\s+\d{4})|(?:出生于|生年月日[:：]?)\s*(?<date>\d{4}\D{1,2}\d{1,2}\D{1,2}\d{1,2})", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex BirthDate();

    /// <summary>Street addresses: "42 Elm Street", "Via Roma 15", "Hauptstraße 12, 10115 Berlin", "12 rue de la Paix".</summary>
    [GeneratedRegex(@"\b\d{1,5}\s+(?:\p{Lu}\p{Ll}+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Lane|Ln|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Crescent)\b\.?(?:,?\s+\p{Lu}\p{Ll}+(?:\s+\p{Lu}\p{Ll}+)?(?:,?\s+[A-Z]{2}\s+\d{5})?)?|\b(?:Via|Viale|Piazza|Corso|Rue|Avenue|Calle|Avenida|Rua|Travessa|Plaza|Paseo)\s+(?:[\p{L}'-]+\s+){0,3}?\p{Lu}[\p{L}'-]+,?\s*\d{1,4}\b(?:,?\s+\p{Lu}\p{Ll}+)?|\b\d{1,4},?\s+(?:rue|avenue|boulevard|chemin|place|allée)\s+(?:[\p{L}'-]+\s*){1,4}|\b\p{Lu}[\p{L}-]*(?:straße|strasse|str\.|weg|platz|allee|gasse|straat|laan|gracht|plein|kade)\s+\d{1,4}[a-z]?\b(?:,?\s+\d{4,5}\s*[A-Z]{0,2}\s+\p{Lu}\p{Ll}+)?", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex StreetAddress();

    [GeneratedRegex(@"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    public static partial Regex Email();

    [GeneratedRegex(@"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex CardCandidate();

    [GeneratedRegex(@"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex IbanCandidate();

    [GeneratedRegex(@"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Ssn();

    [GeneratedRegex(@"(?<![\w+.])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?!\w)(?!\.\d)|(?<![\w+])\+\d{8,15}\b", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex PhoneCandidate();

    [GeneratedRegex(@"\d{4}[-./]\d{2}[-./]\d{2}|\d{2}[-./]\d{2}[-./]\d{4}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex IsoDate();

    /// <summary>Every secret and piece of personal data in <paramref name="text"/>, non-overlapping, in order.</summary>
    /// <param name="text">The visible text (NFKC, invisible characters removed).</param>
    /// <param name="isKnownAddress">True for e-mail addresses the policy lists in full (role addresses of your own services).</param>
    public static IReadOnlyList<SensitiveSpan> Find(string text, Func<string, bool> isKnownAddress)
    {
        var spans = new List<SensitiveSpan>();
        foreach (var (kind, pattern, shown) in SecretPatterns)
        {
            foreach (Match m in pattern.Matches(text))
            {
                spans.Add(new SensitiveSpan(m.Index, m.Length, "secret", Describe(kind, m.Value, shown), IsSecret: true));
            }
        }

        foreach (Match m in CredentialAssignment().Matches(text))
        {
            var value = m.Groups["value"].Value;
            if (LooksLikeCredential(value))
            {
                var group = m.Groups["value"];
                spans.Add(new SensitiveSpan(group.Index, group.Length, "secret", $"a value given for '{m.Groups["name"].Value.ToLowerInvariant()}' ({value.Length} characters)", IsSecret: true));
            }
        }

        foreach (Match m in PasswordStatement().Matches(text))
        {
            var value = m.Groups["value"].Value.TrimEnd('.', '!', '?');
            if (value.Length >= 4 && LooksLikeCredential(value))
            {
                var group = m.Groups["value"];
                spans.Add(new SensitiveSpan(group.Index, group.Length, "secret", $"a value given for '{m.Groups["name"].Value.ToLowerInvariant()}' ({value.Length} characters)", IsSecret: true));
            }
        }

        foreach (Match m in BirthDate().Matches(text))
        {
            var date = m.Groups["date"];
            spans.Add(new SensitiveSpan(date.Index, date.Length, "birth date", "a birth date", IsSecret: false));
        }

        foreach (Match m in StreetAddress().Matches(text))
        {
            spans.Add(new SensitiveSpan(m.Index, m.Length, "address", "a street address", IsSecret: false));
        }

        foreach (Match m in LongToken().Matches(text))
        {
            if (IsHighEntropyToken(m.Value))
            {
                spans.Add(new SensitiveSpan(m.Index, m.Length, "secret", $"a high-entropy token ({m.Length} characters)", IsSecret: true));
            }
        }

        if (text.Contains('@', StringComparison.Ordinal))
        {
            foreach (Match m in Email().Matches(text))
            {
                if (!isKnownAddress(m.Value))
                {
                    spans.Add(new SensitiveSpan(m.Index, m.Length, "email", "an e-mail address", IsSecret: false));
                }
            }
        }

        // Card, IBAN, SSN and phone numbers all have at least nine digits; most lessons have far fewer.
        if (text.Count(char.IsAsciiDigit) < 9)
        {
            return NonOverlapping(spans);
        }

        foreach (Match m in CardCandidate().Matches(text))
        {
            var digits = Digits(m.Value);
            if (digits.Length is >= 13 and <= 19 && Luhn(digits))
            {
                spans.Add(new SensitiveSpan(m.Index, m.Length, "card number", $"a payment card number ({digits.Length} digits, Luhn-valid)", IsSecret: false));
            }
        }

        foreach (Match m in IbanCandidate().Matches(text))
        {
            if (IsIban(m.Value))
            {
                spans.Add(new SensitiveSpan(m.Index, m.Length, "iban", $"an IBAN ({m.Value[..2]}, mod-97 valid)", IsSecret: false));
            }
        }

        foreach (Match m in Ssn().Matches(text))
        {
            spans.Add(new SensitiveSpan(m.Index, m.Length, "ssn", "an SSN-like number", IsSecret: false));
        }

        foreach (Match m in PhoneCandidate().Matches(text))
        {
            var digits = Digits(m.Value);
            var formatted = m.Value.StartsWith('+') || m.Value.Contains('(', StringComparison.Ordinal) || digits.Length >= 10;
            if (digits.Length is >= 9 and <= 15 && formatted && !IsDottedQuad(m.Value) && !IsoDate().IsMatch(m.Value))
            {
                spans.Add(new SensitiveSpan(m.Index, m.Length, "phone number", $"a phone number ({digits.Length} digits)", IsSecret: false));
            }
        }

        return NonOverlapping(spans);
    }

    /// <summary>Two sets of spans of one text as one non-overlapping set.</summary>
    public static IReadOnlyList<SensitiveSpan> Merge(IReadOnlyList<SensitiveSpan> a, IReadOnlyList<SensitiveSpan> b)
        => b.Count == 0 ? a : NonOverlapping([.. b, .. a]);

    /// <summary>Keeps the first (secrets first) of overlapping spans, so one value is reported once.</summary>
    private static List<SensitiveSpan> NonOverlapping(List<SensitiveSpan> spans)
    {
        var kept = new List<SensitiveSpan>(spans.Count);
        foreach (var span in spans.OrderBy(s => s.Start).ThenByDescending(s => s.IsSecret).ThenByDescending(s => s.Length))
        {
            if (kept.Count > 0 && span.Start < kept[^1].Start + kept[^1].Length)
            {
                continue;
            }

            kept.Add(span);
        }

        return kept;
    }

    /// <summary>Replaces each span with "[redacted KIND]".</summary>
    public static string Redact(string text, IReadOnlyList<SensitiveSpan> spans)
    {
        var builder = new System.Text.StringBuilder(text.Length);
        var at = 0;
        foreach (var span in spans.OrderBy(s => s.Start))
        {
            builder.Append(text, at, span.Start - at).Append("[redacted ").Append(span.Kind).Append(']');
            at = span.Start + span.Length;
        }

        return builder.Append(text, at, text.Length - at).ToString();
    }

    /// <summary>The Luhn checksum of a digit string (payment card numbers).</summary>
    public static bool Luhn(string digits)
    {
        var sum = 0;
        var doubled = false;
        for (var i = digits.Length - 1; i >= 0; i--)
        {
            var d = digits[i] - '0';
            if (doubled)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            doubled = !doubled;
        }

        return sum % 10 == 0;
    }

    /// <summary>The IBAN check: move the first four characters to the end, letters to numbers, remainder mod 97 is 1.</summary>
    public static bool IsIban(string candidate)
    {
        var compact = candidate.Replace(" ", "", StringComparison.Ordinal);
        if (compact.Length is < 15 or > 34)
        {
            return false;
        }

        var rearranged = compact[4..] + compact[..4];
        var remainder = 0;
        foreach (var c in rearranged)
        {
            int value;
            if (c is >= '0' and <= '9')
            {
                value = c - '0';
                remainder = ((remainder * 10) + value) % 97;
            }
            else if (c is >= 'A' and <= 'Z')
            {
                value = c - 'A' + 10;
                remainder = ((remainder * 100) + value) % 97;
            }
            else
            {
                return false;
            }
        }

        return remainder == 1;
    }

    /// <summary>Shannon entropy in bits per character.</summary>
    public static double Entropy(string value)
    {
        Span<int> counts = stackalloc int[128];
        var other = 0;
        foreach (var c in value)
        {
            if (c < 128)
            {
                counts[c]++;
            }
            else
            {
                other++;
            }
        }

        var entropy = 0.0;
        foreach (var n in counts)
        {
            if (n > 0)
            {
                var p = (double)n / value.Length;
                entropy -= p * Math.Log2(p);
            }
        }

        if (other > 0)
        {
            var p = (double)other / value.Length;
            entropy -= p * Math.Log2(p);
        }

        return entropy;
    }

    private static bool IsHighEntropyToken(string token)
    {
        var upper = token.Any(char.IsAsciiLetterUpper);
        var lower = token.Any(char.IsAsciiLetterLower);
        var digit = token.Any(char.IsAsciiDigit);
        return upper && lower && digit && Entropy(token) >= 4.0;
    }

    /// <summary>A credential value: not an extractor placeholder, and with a digit, a symbol, or twelve characters or more.</summary>
    private static bool LooksLikeCredential(string value)
    {
        if (value.StartsWith('<') || value.StartsWith('[') || value.StartsWith('{') || value.StartsWith('$'))
        {
            return false;
        }

        return value.Any(char.IsAsciiDigit) || value.Any(c => !char.IsLetterOrDigit(c) && c != '_' && c != '-' && c != '.') || value.Length >= 12;
    }

    private static string Describe(string kind, string value, int shown)
        => shown > 0 && value.Length > shown + 4 ? $"{kind} ({value[..shown]}..., {value.Length} characters)" : $"{kind} ({value.Length} characters)";

    private static string Digits(string value) => new([.. value.Where(char.IsAsciiDigit)]);

    private static bool IsDottedQuad(string value)
        => value.Count(c => c == '.') == 3 && value.Split('.').All(p => p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit));
}
