using Npgsql;

namespace Lore.PostgreSql;

// Lessons: the latest version of each lesson, by id.
public sealed partial class PostgresLoreStore
{
    private const string UpsertLessonsSql = """
        INSERT INTO lessons (id, tenant, kind, retired_at, status, json)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
        ON CONFLICT (id) DO UPDATE SET
            tenant = excluded.tenant, kind = excluded.kind, retired_at = excluded.retired_at, status = excluded.status, json = excluded.json;
        """;

    private const string GetLessonSql = "SELECT json FROM lessons WHERE id = $1;";

    private const string ListLessonsSql = """
        SELECT json FROM lessons
        WHERE tenant = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR kind = $3)
        ORDER BY id COLLATE "C";
        """;

    private const string ListActiveLessonsSql = """
        SELECT json FROM lessons
        WHERE tenant = $1 AND status = 'active' AND ($2::text IS NULL OR kind = $2)
        ORDER BY id COLLATE "C";
        """;

    /// <summary>Inserts or replaces the lessons in one statement; a null lesson, an empty id or an undefined status refuses the whole list.</summary>
    public async Task SaveLessonsAsync(IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckLessons(lessons);

        if (lessons.Count == 0)
        {
            return;
        }

        await WriteAsync((connection, transaction) => UpsertLessonsAsync(connection, transaction, lessons, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private static async Task UpsertLessonsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken)
    {
        // The last version of a lesson listed twice wins, as saving them one after the other would.
        var latest = new Dictionary<string, Lesson>(StringComparer.Ordinal);
        foreach (var lesson in lessons)
        {
            latest[lesson.Id] = lesson;
        }

        var rows = latest.Values.ToList();
        {
            await using var upsert = Sql(connection, transaction, UpsertLessonsSql,
                rows.Select(l => l.Id).ToArray(),
                rows.Select(l => l.Scope?.Tenant ?? Tenants.Default).ToArray(),
                rows.Select(l => PostgresText.Name(l.Kind)).ToArray(),
                rows.Select(l => l.RetiredAt is { } at ? PostgresText.FromTime(at) : null).ToArray(),
                rows.Select(l => PostgresText.Name(ListedStatus(l))).ToArray(),
                rows.Select(PostgresText.Json).ToArray());
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<Lesson?> GetLessonAsync(string lessonId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lessonId);
        return await ReadAsync(async connection =>
        {
            await using var command = Sql(connection, null, GetLessonSql, lessonId);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json
                ? PostgresText.FromJson<Lesson>(json, $"Lesson '{lessonId}'")
                : null;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The tenant's lessons ordered by id (ordinal), selected by <see cref="LessonQuery.Status"/> when it is set, else
    /// active lessons only, or every lesson with <see cref="LessonQuery.IncludeRetired"/>.
    /// </summary>
    public async Task<IReadOnlyList<Lesson>> ListLessonsAsync(LessonQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(query.Tenant);
        return await ReadAsync(async connection =>
        {
            var kind = query.Kind is { } k ? PostgresText.Name(k) : null;
            await using var command = query.Status is null && !query.IncludeRetired
                ? Sql(connection, null, ListActiveLessonsSql, query.Tenant, kind)
                : Sql(connection, null, ListLessonsSql, query.Tenant, query.Status is { } status ? PostgresText.Name(status) : null, kind);
            var lessons = new List<Lesson>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                lessons.Add(PostgresText.FromJson<Lesson>(reader.GetString(0), $"A lesson of tenant '{query.Tenant}'"));
            }

            lessons.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
            return lessons;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The status a lesson is listed under: its <see cref="Lesson.Status"/>, except that an active or pending lesson
    /// with <see cref="Lesson.RetiredAt"/> set counts as retired. A rejected lesson stays rejected.
    /// </summary>
    private static LessonStatus ListedStatus(Lesson lesson)
        => lesson.RetiredAt is not null && lesson.Status is LessonStatus.Active or LessonStatus.PendingReview
            ? LessonStatus.Retired
            : lesson.Status;
}
