using System.Collections.Immutable;

namespace Lore.Tests.Fakes;

/// <summary>Lessons and snapshots for tests in one readable line each.</summary>
internal static class TestLessons
{
    public static readonly DateTimeOffset Created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static Lesson Lesson(
        string id,
        string text,
        LessonTrigger? trigger = null,
        LessonKind kind = LessonKind.Guideline,
        string tenant = Tenants.Default,
        string? unit = null,
        IReadOnlyDictionary<string, string>? labels = null,
        IReadOnlyList<string>? tools = null)
        => new()
        {
            Id = id,
            Kind = kind,
            Text = text,
            Trigger = trigger ?? LessonTrigger.OnDescription(text),
            Scope = new LessonScope
            {
                Tenant = tenant,
                UnitKey = unit,
                Labels = labels is null ? ImmutableSortedDictionary<string, string>.Empty : labels.ToImmutableSortedDictionary(),
                Tools = tools ?? [],
            },
            Evidence = new LessonEvidence { EpisodeCount = 5, DistinctSources = 3, Support = 5 },
            Extractor = new ExtractorInfo("test", "1"),
            Confidence = 0.9,
            CreatedAt = Created,
        };

    public static Snapshot Snapshot(IEnumerable<Lesson> lessons, RetrievalSettings? settings = null, string tenant = Tenants.Default, string? parent = null, string reason = "test")
        => Lore.Snapshot.Create(parent, tenant, lessons, settings ?? new RetrievalSettings(), "test", reason, Created);

    /// <summary>A few lessons of a support desk, one of them clearly about refunds.</summary>
    public static IReadOnlyList<Lesson> SupportDesk() =>
    [
        Lesson("les-refund-lookup", "Look up the order with lookup_order before issuing any refund.", LessonTrigger.OnDescription("refund an order for a customer")),
        Lesson("les-address", "Confirm the new shipping address back to the customer before saving it.", LessonTrigger.OnDescription("change the shipping address")),
        Lesson("les-baggage", "Baggage allowance depends on the fare class; read it from the reservation.", LessonTrigger.OnDescription("baggage allowance question")),
        Lesson("les-flights", "Search flights for both directions before holding a seat.", LessonTrigger.OnDescription("book a round trip flight")),
    ];
}
