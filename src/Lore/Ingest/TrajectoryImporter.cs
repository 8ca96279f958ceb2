namespace Lore;

/// <summary>Options for importing trajectory files.</summary>
public sealed class ImportOptions
{
    public string Tenant { get; set; } = Tenants.Default;

    /// <summary>Labels added to every imported episode (for example slice=airline).</summary>
    public Dictionary<string, string> Labels { get; } = [];

    /// <summary>Largest file accepted, in bytes.</summary>
    public long MaxFileBytes { get; set; } = 2L * 1024 * 1024 * 1024;
}

/// <summary>What an import did.</summary>
public sealed record ImportResult(int Episodes, int Steps, string Format);

/// <summary>
/// Imports trajectories in OpenAI chat-completions message format (a JSON array or JSONL of conversations,
/// including the tau-bench results shape with <c>traj</c> and <c>reward</c>). Parsing streams; the import is one
/// transaction, so a file imports whole or not at all, and an error names the record and field at fault.
/// </summary>
public static class TrajectoryImporter
{
    public static Task<ImportResult> ImportFileAsync(string path, ILoreStore store, ImportOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();
}

/// <summary>A trajectory file that cannot be imported; the message names the record (0-based) and field.</summary>
public sealed class TrajectoryFormatException : Exception
{
    public TrajectoryFormatException(string message, int? record = null, string? field = null, Exception? inner = null)
        : base(message, inner)
    {
        Record = record;
        Field = field;
    }

    public int? Record { get; }

    public string? Field { get; }
}
