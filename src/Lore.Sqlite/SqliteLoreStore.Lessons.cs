using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Lessons: the latest version of each lesson, by id.
public sealed partial class SqliteLoreStore
{
    private const string UpsertLessonSql = """
        INSERT INTO lessons (id, tenant, kind, retired_at, status, json) VALUES ($id, $tenant, $kind, $retired_at, $status, $json)
        ON CONFLICT (id) DO UPDATE SET
            tenant = excluded.tenant, kind = excluded.kind, retired_at = excluded.retired_at, status = excluded.status, json = excluded.json;
        """;

    private const string GetLessonSql = "SELECT json FROM lessons WHERE id = $id;";

    // The status filter is spelled out per case (rather than one CASE expression) so that SQLite can use ix_lessons_tenant_status.
    private const string ListLessonsSql = """
        SELECT json FROM lessons
        WHERE tenant = $tenant AND {0} AND ($kind IS NULL OR kind = $kind)
        ORDER BY id;
        """;

    private static readonly string ListActiveLessonsSql = string.Format(CultureInfo.InvariantCulture, ListLessonsSql, "status = 'active'");
    private static readonly string ListLessonsByStatusSql = string.Format(CultureInfo.InvariantCulture, ListLessonsSql, "status = $status");
    private static readonly string ListAllLessonsSql = string.Format(CultureInfo.InvariantCulture, ListLessonsSql, "1 = 1");

    /// <inheritdoc />
    public Task SaveLessonsAsync(IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckLessons(lessons);

        if (lessons.Count == 0)
        {
            return Task.CompletedTask;
        }

        return WriteAsync(transaction => UpsertLessons(transaction, lessons, cancellationToken), cancellationToken);
    }

    private void UpsertLessons(SqliteTransaction transaction, IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken)
    {
        {
            using var upsert = WriteCommand(transaction, UpsertLessonSql);
            var id = upsert.Parameters.Add("$id", SqliteType.Text);
            var tenant = upsert.Parameters.Add("$tenant", SqliteType.Text);
            var kind = upsert.Parameters.Add("$kind", SqliteType.Text);
            var retiredAt = upsert.Parameters.Add("$retired_at", SqliteType.Text);
            var status = upsert.Parameters.Add("$status", SqliteType.Text);
            var json = upsert.Parameters.Add("$json", SqliteType.Text);
            foreach (var lesson in lessons)
            {
                cancellationToken.ThrowIfCancellationRequested();
                id.Value = lesson.Id;
                tenant.Value = lesson.Scope?.Tenant ?? Tenants.Default;
                kind.Value = SqliteText.Name(lesson.Kind);
                retiredAt.Value = SqliteText.FromTimeOrNull(lesson.RetiredAt);
                status.Value = SqliteText.Name(ListedStatus(lesson));
                json.Value = SqliteText.Json(lesson);
                upsert.ExecuteNonQuery();
            }
        }
    }

    /// <inheritdoc />
    public async Task<Lesson?> GetLessonAsync(string lessonId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lessonId);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, GetLessonSql);
        command.Parameters.AddWithValue("$id", lessonId);
        return command.ExecuteScalar() is string json ? SqliteText.FromJson<Lesson>(json, $"Lesson '{lessonId}'") : null;
    }

    /// <summary>
    /// The tenant's lessons ordered by id (ordinal), selected by <see cref="LessonQuery.Status"/> when it is set, else
    /// active lessons only, or every lesson with <see cref="LessonQuery.IncludeRetired"/>. A lesson is listed in the
    /// status <see cref="ListedStatus"/> gives it.
    /// </summary>
    public async Task<IReadOnlyList<Lesson>> ListLessonsAsync(LessonQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(query.Tenant);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        var sql = query.Status is not null ? ListLessonsByStatusSql : query.IncludeRetired ? ListAllLessonsSql : ListActiveLessonsSql;
        using var command = ReadCommand(connection, sql);
        command.Parameters.AddWithValue("$tenant", query.Tenant);
        command.Parameters.AddWithValue("$status", query.Status is { } st ? SqliteText.Name(st) : DBNull.Value);
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

    /// <summary>
    /// The status a lesson is listed under: its <see cref="Lesson.Status"/>, except that an active or pending lesson
    /// with <see cref="Lesson.RetiredAt"/> set counts as retired (retirement predates the status field). A rejected
    /// lesson stays rejected.
    /// </summary>
    internal static LessonStatus ListedStatus(Lesson lesson)
        => lesson.RetiredAt is not null && lesson.Status is LessonStatus.Active or LessonStatus.PendingReview
            ? LessonStatus.Retired
            : lesson.Status;
}
