using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Lessons: the latest version of each lesson, by id.
public sealed partial class SqliteLoreStore
{
    private const string UpsertLessonSql = """
        INSERT INTO lessons (id, tenant, kind, retired_at, json) VALUES ($id, $tenant, $kind, $retired_at, $json)
        ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, kind = excluded.kind, retired_at = excluded.retired_at, json = excluded.json;
        """;

    private const string GetLessonSql = "SELECT json FROM lessons WHERE id = $id;";

    private const string ListLessonsSql = """
        SELECT json FROM lessons
        WHERE tenant = $tenant AND ($include_retired = 1 OR retired_at IS NULL) AND ($kind IS NULL OR kind = $kind)
        ORDER BY id;
        """;

    public Task SaveLessonsAsync(IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lessons);
        for (var i = 0; i < lessons.Count; i++)
        {
            if (lessons[i] is null || string.IsNullOrWhiteSpace(lessons[i].Id))
            {
                throw new ArgumentException($"Lesson {i} of the list is null or has an empty id; no lesson was saved.", nameof(lessons));
            }
        }

        if (lessons.Count == 0)
        {
            return Task.CompletedTask;
        }

        return WriteAsync(transaction =>
        {
            using var upsert = WriteCommand(transaction, UpsertLessonSql);
            var id = upsert.Parameters.Add("$id", SqliteType.Text);
            var tenant = upsert.Parameters.Add("$tenant", SqliteType.Text);
            var kind = upsert.Parameters.Add("$kind", SqliteType.Text);
            var retiredAt = upsert.Parameters.Add("$retired_at", SqliteType.Text);
            var json = upsert.Parameters.Add("$json", SqliteType.Text);
            foreach (var lesson in lessons)
            {
                cancellationToken.ThrowIfCancellationRequested();
                id.Value = lesson.Id;
                tenant.Value = lesson.Scope?.Tenant ?? Tenants.Default;
                kind.Value = SqliteText.Name(lesson.Kind);
                retiredAt.Value = SqliteText.FromTimeOrNull(lesson.RetiredAt);
                json.Value = SqliteText.Json(lesson);
                upsert.ExecuteNonQuery();
            }
        }, cancellationToken);
    }

    public async Task<Lesson?> GetLessonAsync(string lessonId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lessonId);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, GetLessonSql);
        command.Parameters.AddWithValue("$id", lessonId);
        return command.ExecuteScalar() is string json ? SqliteText.FromJson<Lesson>(json, $"Lesson '{lessonId}'") : null;
    }

    /// <summary>The tenant's lessons ordered by id (ordinal).</summary>
    public async Task<IReadOnlyList<Lesson>> ListLessonsAsync(LessonQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(query.Tenant);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, ListLessonsSql);
        command.Parameters.AddWithValue("$tenant", query.Tenant);
        command.Parameters.AddWithValue("$include_retired", query.IncludeRetired ? 1 : 0);
        command.Parameters.AddWithValue("$kind", query.Kind is { } k ? SqliteText.Name(k) : DBNull.Value);
        var lessons = new List<Lesson>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            lessons.Add(SqliteText.FromJson<Lesson>(reader.GetString(0), $"A lesson of tenant '{query.Tenant}'"));
        }

        lessons.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return lessons;
    }
}
