using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>A host a text names: in a URL, an e-mail address, as a bare domain or as an IP address.</summary>
internal readonly record struct HostMention(string Host, string Kind, string Text);

/// <summary>
/// Finds the hosts a text names and decides whether a host is known. Bare domains are recognised only with a common
/// top-level domain, so "node.js" or "order.total" are not taken for hosts; anything with a scheme, an "@" or four
/// dotted numbers is.
/// </summary>
internal static partial class HostNames
{
    [GeneratedRegex(@"\b[a-z][a-z0-9+.-]{1,15}://(?:[^/\s@]*@)?(?<host>\[[0-9a-f:.]+\]|[^/\s?#:'""<>()\[\]{}|\\^`]+)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Url();

    [GeneratedRegex(@"(?<![\w.-])www\.(?<host>[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Www();

    [GeneratedRegex(@"(?<![\w.-])(?<host>(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+(?:com|net|org|io|ai|co|dev|app|xyz|info|biz|ru|cn|tk|ml|ga|cf|gq|pw|cc|su|sh|ly|gg|link|click|site|online|store|tech|cloud|live|email|uk|de|fr|nl|eu|br|jp|kr|au|ca|es|pl|se|ch|onion|zip|mov|top|me|to|us|ws|xxx|icu|buzz|shop|work|page|gov|edu|mil|int))(?![\w-]|\.[a-z0-9])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex BareDomain();

    [GeneratedRegex(@"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.]\w)", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Ipv4();

    [GeneratedRegex(@"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Ipv6();

    [GeneratedRegex(@"\blocalhost\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Localhost();

    /// <summary>
    /// The text with defanged addresses written plainly again: "hxxps://drop[.]io", "qa at protonmail dot com",
    /// "data-collect (at) mailinator (dot) com". Defanging keeps an address from being a link, not from being used: a
    /// model (or a person) reads it as the address it is. Unchanged when there is nothing defanged.
    /// </summary>
    public static string Defang(string text)
    {
        if (!DefangCue().IsMatch(text))
        {
            return text;
        }

        var plain = Hxxp().Replace(text, "http");
        plain = BracketedDot().Replace(plain, ".");
        plain = SpokenDot().Replace(plain, ".");
        plain = BracketedAt().Replace(plain, "@");
        return SpokenAt().Replace(plain, "@");
    }

    [GeneratedRegex(@"hxxp|\bdot\b|[\[({]\s*(?:\.|at|@)\s*[\])}]", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex DefangCue();

    [GeneratedRegex(@"\bhxxp(?=s?(?:://|\[:\]//))", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Hxxp();

    [GeneratedRegex(@"\s*[\[({]\s*(?:\.|dot)\s*[\])}]\s*", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex BracketedDot();

    [GeneratedRegex(@"(?<=[\p{L}\p{N}])\s+dot\s+(?=[\p{L}\p{N}])", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex SpokenDot();

    [GeneratedRegex(@"\s*[\[({]\s*(?:@|at)\s*[\])}]\s*", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex BracketedAt();

    [GeneratedRegex(@"(?<=[\p{L}\p{N}._-])\s+at\s+(?=[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.[a-z]{2,}\b)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, matchTimeoutMilliseconds: 1000)]
    private static partial Regex SpokenAt();

    /// <summary>Every host the text names, each once (lower case, without a trailing dot or port).</summary>
    public static IReadOnlyList<HostMention> Find(string text)
    {
        var found = new Dictionary<string, HostMention>(StringComparer.Ordinal);
        void Add(string host, string kind, string match)
        {
            host = host.Trim().TrimEnd('.').Trim('[', ']').ToLowerInvariant();
            if (host.Length > 0)
            {
                found.TryAdd(host, new HostMention(host, kind, match.Length <= 60 ? match : match[..57] + "..."));
            }
        }

        // Each shape needs a character most texts lack; looking for it first keeps ordinary lessons cheap.
        if (text.Contains("://", StringComparison.Ordinal))
        {
            foreach (Match m in Url().Matches(text))
            {
                Add(m.Groups["host"].Value, "a URL", m.Value);
            }
        }

        if (text.Contains('@', StringComparison.Ordinal))
        {
            foreach (Match m in SensitiveData.Email().Matches(text))
            {
                var domain = m.Value[(m.Value.IndexOf('@', StringComparison.Ordinal) + 1)..];
                Add(domain, "an e-mail address", "an address at " + domain);
            }
        }

        if (HasDotBetweenWordCharacters(text))
        {
            foreach (Match m in Www().Matches(text))
            {
                Add("www." + m.Groups["host"].Value, "a web address", m.Value);
            }

            foreach (Match m in BareDomain().Matches(text))
            {
                var at = m.Index > 0 && text[m.Index - 1] == '@';
                if (!at)
                {
                    Add(m.Groups["host"].Value, "a domain", m.Value);
                }
            }

            foreach (Match m in Ipv4().Matches(text))
            {
                Add(m.Value, "an IP address", m.Value);
            }
        }

        if (text.Contains("::", StringComparison.Ordinal) || text.Count(c => c == ':') >= 5)
        {
            foreach (Match m in Ipv6().Matches(text))
            {
                if ((m.Value.Contains("::", StringComparison.Ordinal) || m.Value.Count(c => c == ':') >= 5)
                    && IPAddress.TryParse(m.Value, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    Add(m.Value, "an IP address", m.Value);
                }
            }
        }

        if (text.Contains("localhost", StringComparison.OrdinalIgnoreCase) && Localhost().IsMatch(text))
        {
            Add("localhost", "a local address", "localhost");
        }

        return [.. found.Values];
    }

    /// <summary>A dot with a letter or digit on both sides: every domain and dotted address has one.</summary>
    private static bool HasDotBetweenWordCharacters(string text)
    {
        for (var i = text.IndexOf('.', StringComparison.Ordinal); i >= 0; i = text.IndexOf('.', i + 1))
        {
            if (i > 0 && i < text.Length - 1 && char.IsLetterOrDigit(text[i - 1]) && char.IsLetterOrDigit(text[i + 1]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when <paramref name="host"/> is one of <paramref name="known"/> or a subdomain of one.</summary>
    public static bool IsKnown(string host, IEnumerable<string> known)
    {
        foreach (var k in known)
        {
            var name = k.Trim().TrimEnd('.').ToLowerInvariant();
            if (name.Length == 0)
            {
                continue;
            }

            if (host == name || (host.Length > name.Length && host.EndsWith(name, StringComparison.Ordinal) && host[host.Length - name.Length - 1] == '.'))
            {
                return true;
            }
        }

        return false;
    }
}
