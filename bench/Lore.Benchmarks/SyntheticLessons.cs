using System.Collections.Immutable;

namespace Lore.Benchmarks;

/// <summary>
/// Seeded lessons with a realistic spread of vocabulary, kinds, triggers and scopes, so retrieval is measured on
/// snapshots that look like a large tenant's, not on a thousand copies of one sentence.
/// </summary>
internal static class SyntheticLessons
{
    private static readonly string[] Tools =
    [
        "lookup_order", "refund_order", "get_invoice", "pay_invoice", "search_flights", "hold_seat", "book_flight",
        "verify_identity", "update_address", "get_customer", "cancel_reservation", "update_baggage", "send_certificate",
    ];

    private static readonly string[] Verbs = ["call", "check", "confirm", "verify", "avoid", "retry", "ask", "compare", "read", "record"];

    public static string[] Vocabulary(int size, Random random)
    {
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        var words = new HashSet<string>(StringComparer.Ordinal);
        while (words.Count < size)
        {
            var length = random.Next(4, 10);
            words.Add(string.Create(length, random, (span, r) =>
            {
                for (var i = 0; i < span.Length; i++)
                {
                    span[i] = letters[r.Next(letters.Length)];
                }
            }));
        }

        return [.. words];
    }

    public static IReadOnlyList<Lesson> Create(int count, int seed, string tenant = Tenants.Default)
    {
        var random = new Random(seed);
        var vocabulary = Vocabulary(Math.Max(2000, count / 2), random);
        var lessons = new List<Lesson>(count);
        for (var i = 0; i < count; i++)
        {
            var tool = Tools[random.Next(Tools.Length)];
            var other = Tools[random.Next(Tools.Length)];
            var words = Enumerable.Range(0, random.Next(8, 20)).Select(_ => vocabulary[random.Next(vocabulary.Length)]).ToArray();
            var text = $"{Verbs[random.Next(Verbs.Length)]} `{other}` before `{tool}` when the {string.Join(' ', words)}.";
            var kind = (LessonKind)random.Next(4);
            var trigger = random.Next(10) switch
            {
                0 => LessonTrigger.OnKeywords(words[0], tool),
                1 => LessonTrigger.Always,
                _ => LessonTrigger.OnDescription(string.Join(' ', words.Take(6))),
            };
            var unitScoped = random.Next(20) == 0;
            lessons.Add(new Lesson
            {
                Id = $"les-bench-{i:D6}",
                Kind = unitScoped ? LessonKind.UserFact : kind,
                Text = text,
                Trigger = trigger,
                Scope = new LessonScope
                {
                    Tenant = tenant,
                    UnitKey = unitScoped ? $"user-{random.Next(1000)}" : null,
                    Labels = random.Next(4) == 0 ? ImmutableSortedDictionary<string, string>.Empty.Add("slice", $"slice-{random.Next(5)}") : ImmutableSortedDictionary<string, string>.Empty,
                    Tools = [tool],
                },
                Evidence = new LessonEvidence { EpisodeCount = random.Next(3, 50), DistinctSources = random.Next(2, 20), Support = random.Next(3, 60) },
                Extractor = new ExtractorInfo("bench", "1"),
                Confidence = 0.5 + random.NextDouble() / 2,
                CreatedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
            });
        }

        return lessons;
    }

    /// <summary>Task texts drawn from the same vocabulary, so some lessons match and most do not.</summary>
    public static string[] Tasks(int count, int seed)
    {
        var random = new Random(seed);
        var vocabulary = Vocabulary(2000, new Random(seed));
        return Enumerable.Range(0, count)
            .Select(_ => $"Customer asks to {Verbs[random.Next(Verbs.Length)]} {Tools[random.Next(Tools.Length)]} for " +
                         string.Join(' ', Enumerable.Range(0, 12).Select(_ => vocabulary[random.Next(vocabulary.Length)])))
            .ToArray();
    }
}
