using System.Globalization;
using System.Text;

namespace Lore.Learning.Guards;

/// <summary>
/// A lesson's text in the forms the content screen matches against, so that trivial obfuscation does not get past a
/// rule: invisible characters stripped (and Unicode "tag" characters, which smuggle hidden ASCII, decoded), NFKC
/// (full-width and mathematical letters become plain ones), diacritics removed, look-alike Cyrillic and Greek letters
/// folded to Latin, and lower case. <see cref="Folded"/> also reads leetspeak digits as letters and
/// <see cref="Squashed"/> drops everything but letters, for phrases spelled out with separators ("i.g.n.o.r.e").
/// </summary>
internal sealed class ScreenText
{
    private ScreenText(string visible, string plain, string folded, string squashed, int invisible, int tags, bool mixedScript)
    {
        Visible = visible;
        Plain = plain;
        Folded = folded;
        Squashed = squashed;
        InvisibleCount = invisible;
        TagCount = tags;
        HasMixedScriptWord = mixedScript;
    }

    /// <summary>The text as a reader sees it: invisible characters removed, tag characters decoded, NFKC; case kept.</summary>
    public string Visible { get; }

    /// <summary><see cref="Visible"/> without diacritics, with look-alikes folded to Latin, in lower case.</summary>
    public string Plain { get; }

    /// <summary><see cref="Plain"/> with leetspeak read as letters (0 o, 1 i, 3 e, 4 a, 5 s, 7 t, @ a, $ s).</summary>
    public string Folded { get; }

    /// <summary><see cref="Folded"/> with only its letters: "I-g-n-o-r-e   previous" reads "ignoreprevious".</summary>
    public string Squashed { get; }

    /// <summary>How many invisible format characters (zero-width, bidirectional controls, fillers) the text held.</summary>
    public int InvisibleCount { get; }

    /// <summary>How many Unicode tag characters (U+E0000 block, invisible ASCII) the text held.</summary>
    public int TagCount { get; }

    /// <summary>True when a word mixes Latin letters with Cyrillic or Greek ones ("pаypal" with a Cyrillic а).</summary>
    public bool HasMixedScriptWord { get; }

    public static ScreenText Of(string? text)
    {
        text ??= "";
        var visible = new StringBuilder(text.Length);
        var invisible = 0;
        var tags = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var code = char.ConvertToUtf32(c, text[i + 1]);
                i++;
                if (code is >= 0xE0000 and <= 0xE007F)
                {
                    // Tag characters render as nothing but models read them: decode the ASCII they carry.
                    tags++;
                    if (code is >= 0xE0020 and <= 0xE007E)
                    {
                        visible.Append((char)(code - 0xE0000));
                    }

                    continue;
                }

                if (code is >= 0xFE00 and <= 0xFE0F or >= 0xE0100 and <= 0xE01EF)
                {
                    invisible++;
                    continue;
                }

                visible.Append(c).Append(text[i]);
                continue;
            }

            if (IsInvisible(c))
            {
                invisible++;
                continue;
            }

            visible.Append(c);
        }

        var nfkc = visible.ToString().Normalize(NormalizationForm.FormKC);
        var plain = new StringBuilder(nfkc.Length);
        foreach (var c in nfkc.Normalize(NormalizationForm.FormD))
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            plain.Append(char.ToLowerInvariant(Fold(c)));
        }

        var plainText = plain.ToString().Normalize(NormalizationForm.FormC);
        var folded = new StringBuilder(plainText.Length);
        var squashed = new StringBuilder(plainText.Length);
        foreach (var c in plainText)
        {
            var f = Leet(c);
            folded.Append(f);
            if (char.IsLetter(f))
            {
                squashed.Append(f);
            }
        }

        return new ScreenText(nfkc, plainText, folded.ToString(), squashed.ToString(), invisible, tags, MixesScripts(nfkc));
    }

    /// <summary>Format characters that render as nothing (or as blank filler) and so can hide or split words.</summary>
    internal static bool IsInvisible(char c)
        => c is '\u00AD' or '\u034F' or '\u2800' or '\u061C' or '\u115F' or '\u1160' or '\u17B4' or '\u17B5' or '\u180E' or '\u3164' or '\uFFA0' or '\uFEFF'
            or (>= '\u200B' and <= '\u200F') or (>= '\u202A' and <= '\u202E') or (>= '\u2060' and <= '\u2064') or (>= '\u2066' and <= '\u206F')
            or (>= '\uFE00' and <= '\uFE0F') or (>= '\uFFF9' and <= '\uFFFB')
            || (CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format && c is not '\u0600' and not '\u0601' and not '\u0602' and not '\u0603');

    /// <summary>Cyrillic, Greek and other letters that look like Latin ones, and typographic punctuation, folded to ASCII.</summary>
    internal static char Fold(char c) => c switch
    {
        // Cyrillic
        'а' or 'А' => 'a',
        'в' or 'В' => 'b',
        'с' or 'С' or 'ϲ' or 'Ϲ' => 'c',
        'ԁ' => 'd',
        'е' or 'Е' or 'ё' or 'Ё' or 'є' or 'Є' => 'e',
        'һ' or 'Һ' or 'н' or 'Н' => 'h',
        'і' or 'І' or 'ї' or 'Ї' or 'ӏ' or 'Ӏ' => 'i',
        'ј' or 'Ј' => 'j',
        'к' or 'К' => 'k',
        'м' or 'М' => 'm',
        'о' or 'О' => 'o',
        'р' or 'Р' => 'p',
        'ԛ' => 'q',
        'ѕ' or 'Ѕ' => 's',
        'т' or 'Т' => 't',
        'у' or 'У' or 'ү' => 'y',
        'х' or 'Х' => 'x',
        'ԝ' or 'Ԝ' => 'w',
        'ɡ' => 'g',
        'ո' => 'n',
        'ս' => 'u',

        // Greek
        'α' or 'Α' => 'a',
        'β' or 'Β' => 'b',
        'ε' or 'Ε' => 'e',
        'η' or 'Η' => 'h',
        'ι' or 'Ι' => 'i',
        'κ' or 'Κ' => 'k',
        'μ' or 'Μ' => 'm',
        'ν' or 'Ν' => 'n',
        'ο' or 'Ο' => 'o',
        'ρ' or 'Ρ' => 'p',
        'τ' or 'Τ' => 't',
        'υ' or 'Υ' => 'y',
        'χ' or 'Χ' => 'x',
        'ζ' or 'Ζ' => 'z',

        // Latin small capitals and IPA letters ("ɪɢɴᴏʀᴇ"): no compatibility decomposition, so NFKC keeps them.
        'ᴀ' => 'a',
        'ʙ' => 'b',
        'ᴄ' => 'c',
        'ᴅ' => 'd',
        'ᴇ' => 'e',
        'ꜰ' => 'f',
        'ɢ' => 'g',
        'ʜ' => 'h',
        'ɪ' or 'ɩ' => 'i',
        'ᴊ' => 'j',
        'ᴋ' => 'k',
        'ʟ' => 'l',
        'ᴍ' => 'm',
        'ɴ' => 'n',
        'ᴏ' => 'o',
        'ᴘ' => 'p',
        'ǫ' => 'q',
        'ʀ' => 'r',
        'ꜱ' => 's',
        'ᴛ' => 't',
        'ᴜ' => 'u',
        'ᴠ' => 'v',
        'ᴡ' => 'w',
        'ʏ' => 'y',
        'ᴢ' => 'z',
        'ɑ' => 'a',

        // Cherokee and Lisu letters drawn like Latin capitals ("Ꭰisregard", "ꓑrompt").
        >= '\uAB70' and <= '\uABBF' => Fold((char)(c - 0xAB70 + 0x13A0)),
        'Ꭰ' or 'ꓓ' or 'ꓒ' => 'd',
        'Ꭱ' or 'ꓣ' => 'r',
        'Ꭲ' or 'ꓔ' => 't',
        'Ꭵ' or 'ꓲ' => 'i',
        'Ꭺ' or 'ꓮ' => 'a',
        'Ꭻ' or 'ꓙ' => 'j',
        'Ꭼ' or 'ꓰ' => 'e',
        'Ꮃ' or 'ꓪ' => 'w',
        'Ꮇ' or 'ꓟ' => 'm',
        'Ꮋ' or 'ꓧ' => 'h',
        'Ꮐ' or 'ꓖ' => 'g',
        'Ꮓ' or 'ꓜ' => 'z',
        'Ꮪ' or 'ꓢ' => 's',
        'Ꮯ' or 'ꓚ' => 'c',
        'Ꮮ' or 'ꓡ' => 'l',
        'Ꮶ' or 'ꓗ' => 'k',
        'Ꮲ' or 'ꓑ' => 'p',
        'Ᏼ' or 'ꓐ' => 'b',
        'Ꮩ' or 'ꓦ' => 'v',
        'Ꮻ' or 'ꓳ' => 'o',
        'ꓝ' => 'f',
        'ꓠ' => 'n',
        'ꓫ' => 'x',
        'ꓬ' => 'y',
        'ꓴ' => 'u',

        // Latin look-alikes and typography
        'ı' => 'i',
        'ℓ' => 'l',
        'ß' => 's',
        '\u2018' or '\u2019' or '\u201B' or '\u2032' or '`' or '\u00B4' => '\'',
        '\u201C' or '\u201D' or '\u201F' or '\u2033' => '"',
        '\u2010' or '\u2011' or '\u2012' or '\u2013' or '\u2014' or '\u2015' or '\u2212' => '-',
        '\u00A0' or '\u2007' or '\u202F' => ' ',
        _ => c,
    };

    /// <summary>
    /// Letters that exist only to look like Latin ones in a lesson's languages (small capitals, IPA, Cherokee, Lisu):
    /// read as the Latin letter wherever they stand, not only inside a word that mixes scripts.
    /// </summary>
    internal static bool IsLatinLookAlike(char c)
        => c is (>= '\u1D00' and <= '\u1D22') or 'ʙ' or 'ɢ' or 'ʜ' or 'ɪ' or 'ɩ' or 'ʟ' or 'ɴ' or 'ǫ' or 'ʀ' or 'ʏ' or 'ꜰ' or 'ꜱ' or 'ɑ'
            or (>= '\u13A0' and <= '\u13F5') or (>= '\uAB70' and <= '\uABBF') or (>= '\uA4D0' and <= '\uA4F7');

    private static char Leet(char c) => c switch
    {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' or '@' => 'a',
        '5' or '$' => 's',
        '7' => 't',
        _ => c,
    };

    /// <summary>True when one word holds both Latin letters and Cyrillic, Greek or other look-alike ones.</summary>
    private static bool MixesScripts(string text)
    {
        var latin = false;
        var other = false;
        foreach (var c in text)
        {
            if (!char.IsLetter(c))
            {
                if (latin && other)
                {
                    return true;
                }

                latin = other = false;
                continue;
            }

            if (c < '\u0250')
            {
                latin |= c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '\u00C0' and <= '\u024F');
            }
            else if (c is (>= '\u0370' and <= '\u03FF') or (>= '\u0400' and <= '\u052F') || IsLatinLookAlike(c))
            {
                other = true;
            }
        }

        return latin && other;
    }
}
