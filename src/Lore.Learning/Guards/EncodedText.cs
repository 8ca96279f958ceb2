using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>A text hidden in a lesson under an encoding, decoded, with where its encoded form sits in the field it came from.</summary>
internal sealed record DecodedText(string Encoding, string Text, int Start, int Length);

/// <summary>
/// What a lesson says once its encodings are undone, so that the screen reads what a model would read when told
/// "decode this": base64 (also split into groups), base32, hex (also spaced or \x-escaped), binary, percent (URL)
/// encoding, HTML entities, source-code escapes (\u0069), ROT13 and other shifted or mirrored alphabets, text written
/// backwards, and words spelled with separators ("i g n o r e", "ig-nore"). Work is bounded: at most
/// <see cref="MaxDepth"/> nested decodings, <see cref="MaxVariants"/> decoded texts and <see cref="MaxDecodedChars"/>
/// decoded characters per field; a field beyond <see cref="MaxFieldChars"/> is not decoded and the screen fails closed.
/// </summary>
internal static partial class EncodedText
{
    public const int MaxDepth = 3;
    public const int MaxVariants = 16;
    public const int MaxDecodedChars = 32_768;
    public const int MaxFieldChars = 20_000;

    /// <summary>Every decoded form of <paramref name="visible"/> worth screening, outermost first.</summary>
    public static IReadOnlyList<DecodedText> Decode(string visible)
    {
        var found = new List<DecodedText>();
        var seen = new HashSet<string>(StringComparer.Ordinal) { visible };
        var budget = MaxDecodedChars;
        var queue = new Queue<(string Text, int Depth, int Start, int Length, string Chain)>();
        queue.Enqueue((visible, 0, 0, visible.Length, ""));
        while (queue.Count > 0 && found.Count < MaxVariants && budget > 0)
        {
            var (text, depth, start, length, chain) = queue.Dequeue();
            if (depth >= MaxDepth)
            {
                continue;
            }

            foreach (var (encoding, decoded, at, len) in DecodeOnce(text, depth == 0))
            {
                if (found.Count >= MaxVariants || budget <= 0)
                {
                    break;
                }

                if (!seen.Add(decoded))
                {
                    continue;
                }

                budget -= decoded.Length;
                var name = chain.Length == 0 ? encoding : $"{encoding} in {chain}";

                // Positions refer to the field: a nested payload is redacted with the outer run that carries it.
                var (s, l) = depth == 0 ? (at, len) : (start, length);
                found.Add(new DecodedText(name, decoded, s, l));
                queue.Enqueue((decoded, depth + 1, s, l, name));
            }
        }

        return found;
    }

    /// <summary>One layer of decoding: each encoded run found in <paramref name="text"/>, decoded when it reads as text.</summary>
    private static IEnumerable<(string Encoding, string Text, int Start, int Length)> DecodeOnce(string text, bool outermost)
    {
        foreach (Match m in Base64Grouped().Matches(text))
        {
            // The run may have swallowed ordinary words before the payload ("Note tip aWdu b3Jl ..."), which shifts
            // base64's four-character alignment: try dropping up to six leading groups.
            var groups = WhiteSpace().Split(m.Value.Trim());
            for (var skip = 0; skip <= Math.Min(6, groups.Length - 3); skip++)
            {
                if (TryBase64(string.Concat(groups[skip..]), out var decoded))
                {
                    yield return ("base64", decoded, m.Index, m.Length);
                    break;
                }
            }
        }

        foreach (Match m in Base64Run().Matches(text))
        {
            if (TryBase64(m.Value, out var decoded))
            {
                yield return ("base64", decoded, m.Index, m.Length);
            }
        }

        foreach (Match m in HexRun().Matches(text))
        {
            if (TryHex(HexNoise().Replace(m.Value, ""), out var decoded))
            {
                yield return ("hex", decoded, m.Index, m.Length);
            }
        }

        if (PercentEscape().IsMatch(text))
        {
            string? decoded = null;
            try
            {
                decoded = Uri.UnescapeDataString(text.Replace('+', ' '));
            }
            catch (UriFormatException)
            {
            }

            if (decoded is not null && decoded != text)
            {
                yield return ("URL encoding", decoded, 0, text.Length);
            }
        }

        if (text.Contains('&', StringComparison.Ordinal) && HtmlEntity().IsMatch(text))
        {
            var decoded = WebUtility.HtmlDecode(text);
            if (decoded != text)
            {
                yield return ("HTML entities", decoded, 0, text.Length);
            }
        }

        if (outermost)
        {
            var joined = JoinSplitWords(text);
            if (joined != text)
            {
                yield return (SplitLetters, joined, 0, text.Length);
            }

            // ROT13 turns ordinary text into nonsense, so only the whole text is read rotated, once.
            if (text.Count(char.IsAsciiLetter) >= 12)
            {
                yield return (Rot13Name, Rot13(text), 0, text.Length);

                // Written backwards ("snoitcurtsni suoiverp erongi") a model still reads it when told to; only clauses
                // that read better backwards are turned round.
                if (LetterShift.Unreverse(text) is { } reversed)
                {
                    yield return (ReversedText, reversed, 0, text.Length);
                }

                // Any other shifted or mirrored alphabet (Caesar, atbash), but only where a clause reads more like
                // language shifted than as written: a cryptanalyst's test, so ordinary text is not read 26 times.
                if (LetterShift.Decipher(text) is { } deciphered)
                {
                    yield return (ShiftedAlphabet, deciphered, 0, text.Length);
                }
            }
        }

        foreach (Match m in Base32Run().Matches(text))
        {
            if (TryBase32(m.Value, out var decoded))
            {
                yield return ("base32", decoded, m.Index, m.Length);
            }
        }

        if (text.Contains('\\', StringComparison.Ordinal) && CodeEscape().IsMatch(text))
        {
            var decoded = CodeEscape().Replace(text, m => UnescapeCode(m.Value));
            if (decoded != text)
            {
                yield return ("code escapes", decoded, 0, text.Length);
            }
        }

        foreach (Match m in BinaryRun().Matches(text))
        {
            var bits = string.Concat(m.Value.Where(c => c is '0' or '1'));
            var bytes = new byte[bits.Length / 8];
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] = Convert.ToByte(bits.Substring(i * 8, 8), 2);
            }

            if (TryText(bytes, out var decoded))
            {
                yield return ("binary", decoded, m.Index, m.Length);
            }
        }
    }

    /// <summary>RFC 4648 base32 (upper case, optional padding), decoded when it reads as text.</summary>
    private static bool TryBase32(string run, out string decoded)
    {
        decoded = "";
        var value = run.TrimEnd('=');
        var bytes = new List<byte>(value.Length * 5 / 8);
        int buffer = 0, bits = 0;
        foreach (var c in value)
        {
            var v = c is >= 'A' and <= 'Z' ? c - 'A' : c is >= '2' and <= '7' ? c - '2' + 26 : -1;
            if (v < 0)
            {
                return false;
            }

            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)((buffer >> (bits - 8)) & 0xFF));
                bits -= 8;
            }
        }

        return TryText(bytes.ToArray(), out decoded);
    }

    /// <summary>One source-code escape ("\u0069", "\U00000069", "\u{69}", octal "\151") as the character it stands for.</summary>
    private static string UnescapeCode(string escape)
    {
        var digits = escape[1] is 'u' or 'U' ? escape[2..].Trim('{', '}') : escape[1..];
        var code = Convert.ToInt32(digits, escape[1] is 'u' or 'U' ? 16 : 8);
        return code is > 0 and <= 0x10FFFF and not (>= 0xD800 and <= 0xDFFF) ? char.ConvertFromUtf32(code) : escape;
    }

    /// <summary>Names of decodings the screen treats specially (see <see cref="IsLetterTransform"/>).</summary>
    public const string SplitLetters = "split letters";

    public const string Rot13Name = "ROT13";

    public const string ReversedText = "reversed text";

    public const string ShiftedAlphabet = "a shifted alphabet";

    /// <summary>
    /// Whether the last decoding named in <paramref name="encoding"/> (the innermost layer: "ROT13 in base64") only moved
    /// letters (ROT13, another shift or mirror, text backwards): what it yields is read for intents only, its "commands",
    /// "hosts" and "numbers" being artefacts of the transformation.
    /// </summary>
    public static bool IsLetterTransform(string encoding)
        => encoding.StartsWith(Rot13Name, StringComparison.Ordinal) || encoding.StartsWith(ReversedText, StringComparison.Ordinal)
            || encoding.StartsWith(ShiftedAlphabet, StringComparison.Ordinal);

    /// <summary>"i g n o r e  t h e  r u l e s" reads "ignore the rules"; "ig-nore the po.licy" reads "ignore the policy".</summary>
    public static string JoinSplitWords(string text)
    {
        var letters = SpelledOut().Replace(text, m => string.Concat(m.Value.Where(char.IsLetter)));
        return InWordSeparator().Replace(letters, "");
    }

    public static string Rot13(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            if (c is >= 'a' and <= 'z')
            {
                chars[i] = (char)('a' + ((c - 'a' + 13) % 26));
            }
            else if (c is >= 'A' and <= 'Z')
            {
                chars[i] = (char)('A' + ((c - 'A' + 13) % 26));
            }
        }

        return new string(chars);
    }

    private static bool TryBase64(string run, out string decoded)
    {
        decoded = "";
        var value = run.Replace('-', '+').Replace('_', '/').TrimEnd('=');
        if (value.Length < 12 || value.Length % 4 == 1)
        {
            return false;
        }

        value += new string('=', (4 - (value.Length % 4)) % 4);
        var bytes = new byte[value.Length];
        if (!Convert.TryFromBase64String(value, bytes, out var written))
        {
            return false;
        }

        return TryText(bytes.AsSpan(0, written), out decoded);
    }

    private static bool TryHex(string hex, out string decoded)
    {
        decoded = "";
        if (hex.Length < 16 || hex.Length % 2 != 0)
        {
            return false;
        }

        try
        {
            return TryText(Convert.FromHexString(hex), out decoded);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// The readable beginning of some bytes: UTF-8 text up to the first control or invalid character, when it is long
    /// enough and mostly letters or digits. Words swallowed after a payload decode to noise and are cut off there.
    /// </summary>
    private static bool TryText(ReadOnlySpan<byte> bytes, out string decoded)
    {
        decoded = "";
        var text = Encoding.UTF8.GetString(bytes);
        var end = 0;
        while (end < text.Length && (text[end] is '\n' or '\r' or '\t' || (!char.IsControl(text[end]) && text[end] != '\uFFFD')))
        {
            end++;
        }

        var readable = text[..end];
        var letters = readable.Count(char.IsLetterOrDigit);
        if (readable.Length < 8 || (end < text.Length && readable.Length < 12) || letters < 0.6 * readable.Length)
        {
            return false;
        }

        decoded = readable;
        return true;
    }

    [GeneratedRegex(@"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Base64Run();

    /// <summary>Base64 cut into groups by spaces or line breaks: "aWdu b3Jl IHRo ZSBw".</summary>
    [GeneratedRegex(@"(?<![A-Za-z0-9+/=])(?:[A-Za-z0-9+/]{2,8}[ \t\r\n]+){3,}[A-Za-z0-9+/]{1,8}={0,2}(?![A-Za-z0-9+/=])", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Base64Grouped();

    [GeneratedRegex(@"(?<![0-9A-Fa-f])(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[ :,-]?){8,}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex HexRun();

    [GeneratedRegex(@"\\x|0x|[ :,-]", RegexOptions.CultureInvariant)]
    private static partial Regex HexNoise();

    [GeneratedRegex(@"%[0-9A-Fa-f]{2}", RegexOptions.CultureInvariant)]
    private static partial Regex PercentEscape();

    [GeneratedRegex(@"&(?:#[0-9]{2,7}|#x[0-9A-Fa-f]{2,6}|[A-Za-z]{2,10});", RegexOptions.CultureInvariant)]
    private static partial Regex HtmlEntity();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex WhiteSpace();

    /// <summary>A run of base32 (RFC 4648 alphabet, upper case): "NFTW433SMUQHA4TF...".</summary>
    [GeneratedRegex(@"(?<![A-Za-z0-9])[A-Z2-7]{16,}={0,6}(?![A-Za-z0-9])", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex Base32Run();

    /// <summary>Source-code escapes of characters: \uXXXX, \UXXXXXXXX, \u{X..}, octal \NNN.</summary>
    [GeneratedRegex(@"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|u\{[0-9A-Fa-f]{1,6}\}|[0-3][0-7]{2})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex CodeEscape();

    /// <summary>Bytes written as groups of eight bits: "01101001 01100111 ...".</summary>
    [GeneratedRegex(@"(?<![01])(?:[01]{8}[ \t,]*){4,}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex BinaryRun();

    /// <summary>Two or more single letters joined by one separator each: "i g n o r e", "t o", "d.e.l.e.t.e".</summary>
    [GeneratedRegex(@"(?<!\p{L})\p{L}(?:[ .\-_*·|/]\p{L}(?!\p{L})){1,}", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex SpelledOut();

    /// <summary>A hyphen, dot, asterisk or underscore inside a word: "ig-nore", "po.licy".</summary>
    [GeneratedRegex(@"(?<=\p{L}{2})[-.*·_](?=\p{L}{2})", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex InWordSeparator();
}
