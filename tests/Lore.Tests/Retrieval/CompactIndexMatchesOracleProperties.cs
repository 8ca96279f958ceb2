using System.Collections.Immutable;
using CsCheck;
using Lore.Retrieval;
using Lore.Testing;
using Lore.Tests.Fakes;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;
using Oracle = Lore.Tests.Retrieval.Oracle;

namespace Lore.Tests.Retrieval;

/// <summary>
/// The compact, cache-friendly index must pick exactly what the index it replaced picked. The previous implementation
/// is kept verbatim in <c>Retrieval/Oracle</c> and both answer the same random queries over the same random
/// snapshots: the same lessons in the same order, the same section, tokens and withheld ids, and the same scores.
/// Scores are compared exactly (no tolerance): the new layout performs the same float operations in the same order
/// (each posting list in query-key order, documents ascending; dense columns by the same fused multiply-add in the
/// same blocks), so any difference at all means the arithmetic changed, and with it possibly a tie's order.
/// </summary>
public sealed class CompactIndexMatchesOracleProperties
{
    // Few words, so lessons share terms, dense columns and frequent words appear, and ties happen.
    private static readonly string[] Words =
    [
        "refund", "refunds", "refunded", "order", "orders", "lookup", "look", "up", "before", "after", "customer",
        "address", "payment", "invoice", "flight", "seat", "baggage", "policy", "policies", "verify", "identity", "the",
        "a", "to", "reimburse", "money", "shipping", "plane", "status", "42", "Ünïcödé", "boxes", "call", "check",
    ];

    private static readonly string[] ToolNames = ["lookup_order", "refund_order", "get_invoice", "book_flight"];

    private static readonly Gen<string> Text = Gen.Int[0, Words.Length - 1].Array[1, 14].Select(ws => string.Join(' ', ws.Select(w => Words[w])));

    private static readonly Gen<string[]> Tools = Gen.Int[0, 15].Select(mask => ToolNames.Where((_, i) => (mask & (1 << i)) != 0).ToArray());

    private static readonly Gen<LessonTrigger> Trigger = Gen.Frequency(
        (2, Gen.Const(LessonTrigger.Always)),
        (2, Gen.Int[0, Words.Length - 1].Array[1, 3].Select(ws => LessonTrigger.OnKeywords(ws.Length > 1 ? Words[ws[0]] + " " + Words[ws[1]] : Words[ws[0]], Words[ws[^1]]))),
        (6, Text.Select(LessonTrigger.OnDescription)));

    private static readonly Gen<Lesson> AnyLesson = Gen.Select(Text, Trigger, Gen.Int[0, 3], Gen.Int[0, 9], Gen.Int[0, 7], Tools, Gen.Int[0, 39])
        .Select((text, trigger, kind, unit, labels, tools, flags) => Lesson("les", text, trigger, (LessonKind)kind) with
        {
            Pinned = flags == 1,
            RetiredAt = flags == 2 ? Created : null,
            Scope = new LessonScope
            {
                Tenant = flags % 7 == 0 ? "t2" : Tenants.Default,
                UnitKey = unit < 3 ? $"u{unit}" : null,
                Labels = (labels & 1) != 0 ? ImmutableSortedDictionary<string, string>.Empty.Add("slice", (labels & 2) != 0 ? "s1" : "s2") : ImmutableSortedDictionary<string, string>.Empty,
                EvidenceLabels = flags % 5 == 3 ? ImmutableSortedDictionary<string, string>.Empty.Add("region", "eu") : ImmutableSortedDictionary<string, string>.Empty,
                Tools = (labels & 4) != 0 ? tools : [],
            },
        });

    private static readonly Gen<RetrievalSettings> Settings = Gen.Select(Gen.Int[1, 8], Gen.Int[0, 50], Gen.Int[0, 10], Gen.Int[40, 700])
        .Select((topK, minScore, weight, budget) => new RetrievalSettings { TopK = topK, MinScore = minScore / 100.0, LexicalWeight = weight / 10.0, TokenBudget = budget });

    private static readonly Gen<Snapshot> AnySnapshot = Gen.Select(AnyLesson.Array[0, 160], Settings)
        .Select((lessons, settings) => Numbered(lessons, settings));

    private static readonly Gen<RetrievalQuery> AnyQuery = Gen.Select(Text, Gen.Int[0, 2], Text, Gen.Int[0, 4], Gen.Int[0, 7], Tools, Gen.Int[0, 3])
        .Select((task, turnKind, turn, unit, labels, tools, extra) => new RetrievalQuery
        {
            Task = task,
            Turn = turnKind == 0 ? null : turnKind == 1 ? task : turn,
            Tenant = extra == 3 ? "t2" : Tenants.Default,
            UnitKey = unit < 3 ? $"u{unit}" : "",
            Labels = QueryLabels(labels, extra),
            AvailableTools = extra == 0 ? null : tools,
            LessonHoldoutShare = extra == 2 ? 0.4 : 0,
        });

    private static readonly Gen<(Snapshot Snapshot, RetrievalQuery[] Queries)> Case = Gen.Select(AnySnapshot, AnyQuery.Array[1, 6]);

    private static Snapshot Numbered(Lesson[] lessons, RetrievalSettings settings)
        => Snapshot(lessons.Select((l, i) => l with { Id = $"les-{i:D4}" }), settings);

    private static Dictionary<string, string> QueryLabels(int labels, int extra)
    {
        var result = new Dictionary<string, string>();
        if ((labels & 1) != 0)
        {
            result["slice"] = (labels & 2) != 0 ? "s1" : "s2";
        }

        if ((labels & 4) != 0)
        {
            result["region"] = extra == 1 ? "us" : "eu";
        }

        return result;
    }

    [Fact]
    public void The_compact_index_returns_exactly_what_the_previous_index_returned_with_the_built_in_embedding()
    {
        SeededCheck.ForAll(Case, c =>
        {
            var index = LessonIndex.Build(c.Snapshot);
            var oracle = Oracle.LessonIndex.Build(c.Snapshot);
            foreach (var query in c.Queries)
            {
                AssertSame(oracle.Retrieve(query), index.Retrieve(query));
            }
        }, iterations: 150);
    }

    [Fact]
    public void The_compact_index_returns_exactly_what_the_previous_index_returned_with_a_user_embedding_and_lexically_alone()
    {
        var generator = new ConceptEmbeddingGenerator();
        SeededCheck.ForAll(Case, c =>
        {
            var index = LessonIndex.BuildAsync(c.Snapshot, new LessonEmbeddingCache(generator, 2)).GetAwaiter().GetResult();
            var oracle = Oracle.LessonIndex.BuildAsync(c.Snapshot, new LessonEmbeddingCache(generator, 2)).GetAwaiter().GetResult();
            foreach (var query in c.Queries)
            {
                var vector = generator.GenerateAsync([LessonIndex.QueryText(query.Task, query.Turn)]).GetAwaiter().GetResult()[0].Vector;
                AssertSame(oracle.Retrieve(query, vector.Span), index.Retrieve(query, vector.Span));

                // The call whose query embedding was not ready in time: served by BM25 alone (LexicalOnly).
                AssertSame(oracle.Retrieve(query), index.Retrieve(query));
            }
        }, iterations: 60);
    }

    [Fact]
    public void Large_snapshots_with_dense_columns_and_frequent_words_match_the_previous_index()
    {
        // 2,000 lessons over 34 words: every word is frequent and common (a posting list added by fused multiply-add),
        // and "policy", in every lesson, is common enough to be a dense column, in BM25 and in the embedding alike.
        var lessons = AnyLesson.Array[2_000].Generate(new PCG(1, 15), null, out _);
        var snapshot = Numbered([.. lessons.Select(l => l with { Text = "policy " + l.Text })], new RetrievalSettings { TopK = 8, MinScore = 0.05, TokenBudget = 600 });
        var index = LessonIndex.Build(snapshot);
        var oracle = Oracle.LessonIndex.Build(snapshot);
        SeededCheck.ForAll(AnyQuery, query => AssertSame(oracle.Retrieve(query), index.Retrieve(query)), iterations: 300);
    }

    [Fact]
    public void Posting_index_accumulates_bit_for_bit_what_the_previous_one_did_whichever_way_each_key_is_stored()
    {
        // Key k is in a document with probability about 1/(1 + k / 8): the first keys are in nearly every document
        // (dense columns), the next in a sizeable share (common posting lists), the rest in a few (rare lists).
        var documents = Gen.Select(Gen.Int[0, 600], Gen.Int[1, 400], Gen.UInt).Select((n, keySpace, seed) =>
        {
            var random = new Random((int)seed);
            var rows = new (int[] Keys, float[] Weights)[n];
            for (var d = 0; d < n; d++)
            {
                var keys = Enumerable.Range(0, keySpace).Where(k => random.NextDouble() < 1.0 / (1 + (k / 8.0))).ToArray();
                rows[d] = (keys, [.. keys.Select(_ => (float)(random.NextDouble() * 3))]);
            }

            var query = Enumerable.Range(0, keySpace + 5).Where(_ => random.Next(3) == 0).OrderBy(_ => random.Next()).ToArray();
            return (Rows: rows, KeySpace: keySpace, Query: query, Weights: query.Select(_ => (float)random.NextDouble()).ToArray());
        });
        var sawColumn = false;
        var sawCommonList = false;
        SeededCheck.ForAll(documents, c =>
        {
            var index = PostingIndex.Build(c.Rows, c.KeySpace);
            var oracle = Oracle.PostingIndex.Build(c.Rows, c.KeySpace);
            var expected = new float[c.Rows.Length];
            var actual = new float[c.Rows.Length];
            oracle.AccumulateMany(c.Query, c.Weights, expected);
            index.AccumulateMany(c.Query, c.Weights, actual);
            Assert.Equal(expected, actual);
            Assert.Equal(oracle.KeyCount, index.KeyCount);
            sawColumn |= index.DenseColumns > 0;
            sawCommonList |= oracle.DenseColumns > index.DenseColumns;
        }, iterations: 120);
        Assert.True(sawColumn && sawCommonList, "the samples cover dense columns and common keys kept as posting lists");
    }

    private static void AssertSame(RetrievalResult expected, RetrievalResult actual)
    {
        Assert.Equal(expected.SnapshotId, actual.SnapshotId);
        Assert.Equal(expected.Lessons.Select(l => l.Lesson.Id), actual.Lessons.Select(l => l.Lesson.Id));
        Assert.Equal(expected.Lessons.Select(l => (l.Score, l.LexicalScore, l.VectorScore, l.Tokens)), actual.Lessons.Select(l => (l.Score, l.LexicalScore, l.VectorScore, l.Tokens)));
        Assert.Equal(expected.Tokens, actual.Tokens);
        Assert.Equal(expected.Section, actual.Section);
        Assert.Equal(expected.WithheldLessonIds, actual.WithheldLessonIds);
    }
}
