using Lore.Sqlite;
using Lore.Testing;
using Microsoft.Data.Sqlite;

namespace Lore.Tests.Audit;

/// <summary>
/// A SQLite store holding a few audit records, and a raw connection to tamper with its file the way an attacker with
/// write access would: first dropping the append-only triggers the store installs, then editing rows directly.
/// </summary>
internal sealed class TamperableAuditLog : IDisposable
{
    private readonly TempDirectory _directory;

    private TamperableAuditLog(TempDirectory directory, string path, IReadOnlyList<AuditEntry> written)
    {
        _directory = directory;
        Path = path;
        Written = written;
    }

    public string Path { get; }

    /// <summary>The entries as the store wrote them.</summary>
    public IReadOnlyList<AuditEntry> Written { get; }

    /// <summary>The head a careful operator pinned after the last write.</summary>
    public AuditHead PinnedHead => new(Written.Count, Written[^1].Hash);

    public static async Task<TamperableAuditLog> CreateAsync(int records = 6)
    {
        var directory = new TempDirectory();
        var path = directory.File("lore.db");
        var written = new List<AuditEntry>();
        await using (var store = await SqliteLoreStore.OpenAsync(path))
        {
            var at = new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);
            for (var i = 1; i <= records; i++)
            {
                written.Add(await store.AppendAuditAsync(new AuditDraft
                {
                    Tenant = i % 2 == 0 ? "acme" : Tenants.Default,
                    Actor = $"cli:operator-{i}",
                    Action = i % 3 == 0 ? AuditActions.SnapshotPromoted : AuditActions.LessonAdmitted,
                    Subject = $"les-{i:000}",
                    Reason = $"change number {i}",
                    DetailsJson = $$"""{"step":{{i}},"evidence":["ep-{{i}}a","ep-{{i}}b"]}""",
                    At = at.AddMinutes(i),
                }));
            }
        }

        return new TamperableAuditLog(directory, path, written);
    }

    /// <summary>Runs SQL against the file after dropping the triggers that make the table append-only.</summary>
    public void Tamper(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            DROP TRIGGER IF EXISTS audit_log_append_only_update;
            DROP TRIGGER IF EXISTS audit_log_append_only_delete;
            DROP TRIGGER IF EXISTS audit_log_extends_head;
            """ + sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Writes a row exactly as given (for forged records).</summary>
    public void Insert(AuditEntry entry)
        => Tamper($"""
            INSERT INTO audit_log (sequence, at_ticks, tenant, actor, action, subject, reason, details_json, previous_hash, hash)
            VALUES ({entry.Sequence}, {entry.At.UtcTicks}, '{entry.Tenant}', '{entry.Actor}', '{entry.Action}', '{entry.Subject}', '{entry.Reason}', '{entry.DetailsJson}', '{entry.PreviousHash}', '{entry.Hash}');
            """);

    public async Task<AuditVerification> VerifyAsync(AuditHead? expectedHead = null)
    {
        await using var store = await SqliteLoreStore.OpenAsync(Path);
        return await AuditVerifier.VerifyAsync(store, expectedHead);
    }

    public async Task<List<AuditEntry>> ReadAsync()
    {
        await using var store = await SqliteLoreStore.OpenAsync(Path);
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadAuditAsync())
        {
            entries.Add(entry);
        }

        return entries;
    }

    public void Dispose() => _directory.Dispose();
}
