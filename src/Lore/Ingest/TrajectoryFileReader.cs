using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Lore.Ingest;

/// <summary>How the records of a trajectory file are laid out.</summary>
internal enum TrajectoryLayout
{
    /// <summary>One JSON array whose elements are the records.</summary>
    JsonArray,

    /// <summary>One JSON record per line (JSONL).</summary>
    JsonLines,
}

/// <summary>One record as read from the file: its 0-based index, its JSON and (for JSONL) its 1-based line.</summary>
internal readonly record struct RawRecord(int Index, JsonElement Json, long? Line);

/// <summary>
/// Streams the records of a trajectory file without loading the file: a JSON array is read element by element,
/// JSONL line by line. Invalid JSON becomes a <see cref="TrajectoryFormatException"/> naming the record and the
/// line/byte position, and says so when the file simply ends in the middle of a record.
/// </summary>
internal static class TrajectoryFileReader
{
    private const int BufferSize = 1 << 16;

    private static readonly JsonSerializerOptions ArrayOptions = new()
    {
        DefaultBufferSize = BufferSize,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
    };

    private static readonly JsonDocumentOptions LineOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
    };

    /// <summary>Looks at the first significant byte (after a UTF-8 byte order mark and whitespace); rewinds the stream.</summary>
    public static async Task<TrajectoryLayout> DetectLayoutAsync(Stream stream, string fileName, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var first = -1;
        var offset = 0L;
        while (first < 0)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            var start = offset == 0 && read >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0;
            for (var i = start; i < read; i++)
            {
                if (buffer[i] is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                {
                    first = buffer[i];
                    break;
                }
            }

            offset += read;
        }

        stream.Position = 0;
        return first switch
        {
            -1 => throw new TrajectoryFormatException($"{fileName}: the file is empty (no records to import)."),
            '[' => TrajectoryLayout.JsonArray,
            '{' => TrajectoryLayout.JsonLines,
            _ => throw new TrajectoryFormatException(
                $"{fileName}: unknown layout: expected a JSON array of records ('[') or JSON Lines with one object per line ('{{'), but the file starts with '{(char)first}'."),
        };
    }

    public static IAsyncEnumerable<RawRecord> ReadAsync(Stream stream, TrajectoryLayout layout, string path, CancellationToken cancellationToken)
        => layout == TrajectoryLayout.JsonArray
            ? ReadArrayAsync(stream, path, cancellationToken)
            : ReadLinesAsync(stream, path, cancellationToken);

    private static async IAsyncEnumerable<RawRecord> ReadArrayAsync(Stream stream, string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var index = 0;
        var records = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, ArrayOptions, cancellationToken);
        await using var enumerator = records.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            bool more;
            try
            {
                more = await enumerator.MoveNextAsync().ConfigureAwait(false);
            }
            catch (JsonException ex)
            {
                throw InvalidArrayJson(path, index, ex);
            }

            if (!more)
            {
                yield break;
            }

            yield return new RawRecord(index++, enumerator.Current, null);
        }
    }

    private static async IAsyncEnumerable<RawRecord> ReadLinesAsync(Stream stream, string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var fileName = Path.GetFileName(path);
        using var reader = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true, BufferSize, leaveOpen: true);
        var index = 0;
        var lineNumber = 0L;
        while (true)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DecoderFallbackException ex)
            {
                throw new TrajectoryFormatException($"{fileName}: record {index} (line {lineNumber + 1}): the file is not valid UTF-8.", index, null, ex);
            }

            if (line is null)
            {
                yield break;
            }

            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonElement element;
            try
            {
                using var document = JsonDocument.Parse(line, LineOptions);
                element = document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                var position = (ex.BytePositionInLine ?? 0) + 1;
                var truncated = ex.BytePositionInLine is { } p && p >= Encoding.UTF8.GetByteCount(line.TrimEnd());
                var hint = truncated ? " (the line ends before the record is complete: is the file truncated?)" : "";
                throw new TrajectoryFormatException(
                    $"{fileName}: record {index} (line {lineNumber}): invalid JSON at byte {position} of the line{hint}: {FirstSentence(ex.Message)}",
                    index,
                    null,
                    ex);
            }

            yield return new RawRecord(index++, element, lineNumber);
        }
    }

    private static TrajectoryFormatException InvalidArrayJson(string path, int yielded, JsonException ex)
    {
        var fileName = Path.GetFileName(path);
        var line = (ex.LineNumber ?? 0) + 1;
        var position = (ex.BytePositionInLine ?? 0) + 1;
        var (record, atEnd) = LocateError(path, ex.LineNumber, ex.BytePositionInLine);
        var index = record ?? yielded;
        var hint = atEnd ? " (the file ends before the array is complete: is it truncated?)" : "";
        return new TrajectoryFormatException(
            $"{fileName}: record {index}: invalid JSON at line {line}, byte {position}{hint}: {FirstSentence(ex.Message)}",
            index,
            null,
            ex);
    }

    /// <summary>
    /// Finds which array element a parse error lies in and whether it sits at the end of the file (what a truncated
    /// file looks like). The deserializer reads ahead a buffer at a time, so neither its count of yielded records nor
    /// its path is reliable here; this rescans the bytes before the error with a small lexer that only tracks strings
    /// and nesting. It runs on the error path only.
    /// </summary>
    private static (int? Record, bool AtEnd) LocateError(string path, long? lineNumber, long? bytePositionInLine)
    {
        if (lineNumber is null || bytePositionInLine is null)
        {
            return (null, false);
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize);
            var buffer = new byte[BufferSize];
            long line = 0, column = 0, errorOffset = -1, lastSignificant = -1, offset = 0;
            int depth = 0, elements = 0;
            bool inString = false, escaped = false, expectElement = false;
            int? record = null;
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                for (var i = 0; i < read; i++, offset++)
                {
                    if (errorOffset < 0 && line == lineNumber && column == bytePositionInLine)
                    {
                        errorOffset = offset;
                        record = Math.Max(expectElement ? elements : elements - 1, 0);
                    }

                    var b = buffer[i];
                    var whitespace = b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';
                    if (b == (byte)'\n')
                    {
                        line++;
                        column = 0;
                    }
                    else
                    {
                        column++;
                    }

                    if (!whitespace)
                    {
                        lastSignificant = offset;
                    }

                    if (errorOffset >= 0)
                    {
                        continue;
                    }

                    if (inString)
                    {
                        if (escaped)
                        {
                            escaped = false;
                        }
                        else if (b == (byte)'\\')
                        {
                            escaped = true;
                        }
                        else if (b == (byte)'"')
                        {
                            inString = false;
                        }

                        continue;
                    }

                    if (whitespace)
                    {
                        continue;
                    }

                    if (depth == 1 && b != (byte)',' && b != (byte)']' && expectElement)
                    {
                        elements++;
                        expectElement = false;
                    }

                    switch (b)
                    {
                        case (byte)'"':
                            inString = true;
                            break;
                        case (byte)'[' or (byte)'{':
                            depth++;
                            expectElement |= depth == 1;
                            break;
                        case (byte)']' or (byte)'}':
                            depth--;
                            break;
                        case (byte)',' when depth == 1:
                            expectElement = true;
                            break;
                    }
                }
            }

            if (errorOffset < 0)
            {
                errorOffset = offset;
                record = Math.Max(expectElement ? elements : elements - 1, 0);
            }

            return (record, errorOffset >= lastSignificant);
        }
        catch (IOException)
        {
            return (null, false);
        }
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        }

        return (cut > 0 ? message[..cut] : message).Trim();
    }
}
