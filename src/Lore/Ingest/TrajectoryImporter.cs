using System.Text.Json;
using Lore.Ingest;

namespace Lore;

/// <summary>Options for importing trajectory files.</summary>
public sealed class ImportOptions
{
    /// <summary>The tenant the imported episodes belong to.</summary>
    public string Tenant { get; set; } = Tenants.Default;

    /// <summary>Labels added to every imported episode (for example slice=airline).</summary>
    public Dictionary<string, string> Labels { get; } = [];

    /// <summary>Largest file accepted, in bytes.</summary>
    public long MaxFileBytes { get; set; } = 2L * 1024 * 1024 * 1024;
}

/// <summary>What an import did.</summary>
/// <summary>What an import stored: new episodes and their steps, the format read, and how many records were skipped because the store (or the file) already held the same episode.</summary>
public sealed record ImportResult(int Episodes, int Steps, string Format, int Skipped = 0);

/// <summary>
/// Imports trajectories in OpenAI chat-completions message format (a JSON array or JSONL of conversations,
/// including the tau-bench results shape with <c>traj</c> and <c>reward</c>). Parsing streams; the import is one
/// transaction, so a file imports whole or not at all, and an error names the record and field at fault.
/// </summary>
/// <remarks>
/// <para>
/// Records without an <c>id</c> (tau-bench results have none) get a stable id derived from the file name, the record
/// index and the record's content, so importing the same file twice fails with an error naming the first record
/// that is already in the store, and nothing of the second import is written.
/// </para>
/// <para>
/// The unit key (one evidence source) is the record's <c>user</c> or <c>user_id</c>; for a tau-bench result the
/// <c>info.task.user_id</c>; otherwise the first <c>user_id</c> argument of a tool call; otherwise <c>task-{task_id}</c>
/// for tau-bench and the episode id for a conversation (each conversation its own source). A tau-bench reward or a
/// conversation's <c>reward</c>/<c>outcome</c> becomes an environment outcome (an <c>outcome</c> object may name
/// another source).
/// </para>
/// </remarks>
public static class TrajectoryImporter
{
    private const int ProgressEvery = 100;

    /// <summary>Imports the trajectory file at <paramref name="path"/> into <paramref name="store"/> as one transaction: every episode or none. Throws <see cref="TrajectoryFormatException"/> naming the bad record and field.</summary>
    public static async Task<ImportResult> ImportFileAsync(string path, ILoreStore store, ImportOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(store);
        options ??= new ImportOptions();
        if (string.IsNullOrWhiteSpace(options.Tenant))
        {
            throw new ArgumentException("ImportOptions.Tenant must not be empty.", nameof(options));
        }

        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"No trajectory file at {file.FullName}.", file.FullName);
        }

        var fileName = file.Name;
        if (file.Length > options.MaxFileBytes)
        {
            throw new TrajectoryFormatException(
                $"{fileName}: the file is {file.Length:N0} bytes, larger than the {options.MaxFileBytes:N0}-byte limit (ImportOptions.MaxFileBytes); split it or raise the limit.");
        }

        if (file.Length == 0)
        {
            throw new TrajectoryFormatException($"{fileName}: the file is empty (no records to import).");
        }

        await using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var layout = await TrajectoryFileReader.DetectLayoutAsync(stream, fileName, cancellationToken).ConfigureAwait(false);
        var mapper = new TrajectoryRecordMapper(fileName, options, DateTimeOffset.UtcNow);
        var fingerprints = new Dictionary<string, string>(StringComparer.Ordinal);
        var episodes = 0;
        var steps = 0;

        var skipped = 0;
        await using var import = await store.BeginImportAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var record in TrajectoryFileReader.ReadAsync(stream, layout, file.FullName, cancellationToken).ConfigureAwait(false))
        {
            var episode = mapper.Map(record);
            var fingerprint = EpisodeFingerprint.Of(episode);
            if (fingerprints.TryGetValue(episode.Id, out var earlier))
            {
                if (earlier != fingerprint)
                {
                    throw new TrajectoryFormatException($"{fileName}: record {record.Index}: id '{episode.Id}' repeats the id of an earlier record in the file with different content.", record.Index, "id");
                }

                skipped++;
                continue;
            }

            fingerprints[episode.Id] = fingerprint;
            if (await store.GetEpisodeAsync(episode.Tenant, episode.Id, cancellationToken).ConfigureAwait(false) is { } stored)
            {
                // Idempotent: the same episode (same id, same content) is already stored; importing it again must not
                // double its evidence. The same id with other content is a conflict nothing can settle silently.
                if (stored.Tenant == episode.Tenant && EpisodeFingerprint.Of(stored) == fingerprint)
                {
                    skipped++;
                    continue;
                }

                throw new TrajectoryFormatException(
                    $"{fileName}: record {record.Index}: episode '{episode.Id}' is already in the store with different content; nothing was imported.",
                    record.Index,
                    "id");
            }

            await import.AddAsync(episode, cancellationToken).ConfigureAwait(false);
            episodes++;
            steps += episode.Steps.Count;
            if (episodes % ProgressEvery == 0)
            {
                progress?.Report(episodes);
            }
        }

        if (episodes == 0 && skipped == 0)
        {
            throw new TrajectoryFormatException($"{fileName}: the file holds no records (an empty array or only blank lines).");
        }

        var committed = episodes == 0 ? 0 : await import.CommitAsync(cancellationToken).ConfigureAwait(false);
        progress?.Report(committed);
        var shape = mapper.Shape == RecordShape.TauBench ? "tau-bench" : "openai-messages";
        var container = layout == TrajectoryLayout.JsonArray ? "json-array" : "jsonl";
        return new ImportResult(committed, steps, $"{shape}/{container}", skipped);
    }

    /// <summary>
    /// Maps one trajectory record (a tau-bench result or a conversation, as in a file) to an episode without storing
    /// it, for hosts that receive trajectories one at a time (an MCP tool, a webhook). Throws
    /// <see cref="TrajectoryFormatException"/> naming the bad field; <paramref name="sourceName"/> begins its messages.
    /// </summary>
    public static Episode MapRecord(JsonElement record, ImportOptions options, DateTimeOffset importedAt, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceName);
        return new TrajectoryRecordMapper(sourceName, options, importedAt).Map(new RawRecord(0, record, null));
    }
}

/// <summary>A trajectory file that cannot be imported; the message names the record (0-based) and field.</summary>
public sealed class TrajectoryFormatException : Exception
{
    /// <summary>A format error with <paramref name="message"/>, naming the 0-based <paramref name="record"/> and the <paramref name="field"/> when known.</summary>
    public TrajectoryFormatException(string message, int? record = null, string? field = null, Exception? inner = null)
        : base(message, inner)
    {
        Record = record;
        Field = field;
    }

    /// <summary>The 0-based record that could not be read, when known, so a user can find it in the file.</summary>
    public int? Record { get; }

    /// <summary>The field of that record that was missing or malformed, when known.</summary>
    public string? Field { get; }
}

/// <summary>
/// What makes two stored episodes the same trajectory: tenant, unit, task, labels, every step's content (not its
/// timestamps) and every outcome's score and source. Import times differ between two imports of one file; this does not.
/// </summary>
internal static class EpisodeFingerprint
{
    public static string Of(Episode episode)
    {
        var content = new
        {
            episode.Tenant,
            episode.UnitKey,
            episode.Task,
            Labels = episode.Labels.Where(p => p.Key != "task_id").OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value),
            TaskId = episode.Labels.GetValueOrDefault("task_id"),
            Steps = episode.Steps.Select(s => new { s.Kind, s.Model, s.Request, s.Response, s.ToolName, s.ToolCallId, s.ToolArguments, s.ToolResult, s.ToolFailed }),
            Outcomes = episode.Outcomes.Select(o => new { o.Score, o.Source }),
        };
        var bytes = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(content, LoreJson.Options);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
    }
}
