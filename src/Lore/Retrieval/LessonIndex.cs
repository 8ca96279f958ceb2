using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Microsoft.Extensions.AI;

namespace Lore.Retrieval;

/// <summary>What the index keeps about one lesson so that a call never goes back to the lesson record to filter it.</summary>
internal sealed class IndexedLesson
{
    public required Lesson Lesson { get; init; }

    public required string Line { get; init; }

    public required int LineTokens { get; init; }

    public required TriggerKind Trigger { get; init; }

    public required string Tenant { get; init; }

    /// <summary>The only unit the lesson may be shown to, or null for any.</summary>
    public string? Unit { get; init; }

    /// <summary>A fact about a user with no user to attach it to: never shown to anyone.</summary>
    public bool NeverInjected { get; init; }

    public KeyValuePair<string, string>[] Labels { get; init; } = [];

    /// <summary>Labels the lesson's evidence shared: a request carrying one of these keys with another value is refused.</summary>
    public KeyValuePair<string, string>[] EvidenceLabels { get; init; } = [];

    public string[] Tools { get; init; } = [];
}

/// <summary>
/// The immutable, in-memory retrieval index of one snapshot, built once when the snapshot is loaded. A call scores
/// lessons with BM25 over the lesson's text, trigger keywords and description (normalised to [0, 1] by the query's
/// total idf) mixed with vector cosine (the built-in hashed n-gram embedding through an inverted index, or a
/// user-supplied embedding), applies triggers, the minimum score and scope, then takes the best lessons that fit
/// top-k and the token budget. Nothing on the call path touches the store.
/// </summary>
internal sealed class LessonIndex
{
    private readonly IndexedLesson[] _lessons;
    private readonly int[] _always;
    private readonly int[] _pinned;

    /// <summary>Per lesson, what the scan and the selection test (<see cref="KeywordTriggered"/>, <see cref="PinnedFlag"/>), one byte each, so they read no lesson object.</summary>
    private readonly byte[] _flags;

    /// <summary>Per lesson, the tokens of its line in the section.</summary>
    private readonly int[] _lineTokens;
    private readonly LexicalIndex _lexical;
    private readonly HashedVectorIndex? _sparse;
    private readonly DenseVectorIndex? _dense;
    private readonly Dictionary<string, KeywordEntry[]> _keywords;
    private readonly Dictionary<string, KeywordEntry[]>.AlternateLookup<ReadOnlySpan<char>> _keywordLookup;
    private readonly string _header;
    private readonly int _frameTokens;
    private readonly int _smallestLine;
    private readonly int[] _scopeOf;
    private readonly IndexedLesson[] _scopeExamples;

    // The tools each scope requires as bits of _toolBits (0: none, or more distinct tools than bits: InScope decides).
    private readonly ulong[] _scopeTools;
    private readonly Dictionary<string, int> _toolBits;

    private LessonIndex(Snapshot? snapshot, IndexedLesson[] lessons, LexicalIndex lexical, HashedVectorIndex? sparse, DenseVectorIndex? dense, Dictionary<string, KeywordEntry[]> keywords)
    {
        Snapshot = snapshot;
        Settings = snapshot?.Settings ?? new RetrievalSettings();
        _lessons = lessons;
        _flags = new byte[lessons.Length];
        _lineTokens = new int[lessons.Length];
        for (var i = 0; i < lessons.Length; i++)
        {
            _flags[i] = (byte)((lessons[i].Trigger == TriggerKind.Keywords ? KeywordTriggered : 0) | (lessons[i].Lesson.Pinned ? PinnedFlag : 0));
            _lineTokens[i] = lessons[i].LineTokens;
        }

        _lexical = lexical;
        _sparse = sparse;
        _dense = dense;
        _keywords = keywords;
        _keywordLookup = keywords.GetAlternateLookup<ReadOnlySpan<char>>();
        _always = [.. Enumerable.Range(0, lessons.Length).Where(i => lessons[i].Trigger == TriggerKind.Always)];
        _pinned = [.. Enumerable.Range(0, lessons.Length).Where(i => lessons[i].Lesson.Pinned)];
        _header = LessonSection.Header(snapshot?.Id, Settings.SectionTitle);
        // An empty index never renders a section, so it never loads the tokenizer (about 0.2 s the first time).
        _frameTokens = lessons.Length == 0 ? 0 : TokenCounter.Count(_header) + TokenCounter.Count(LessonSection.ClosingTag);
        _smallestLine = lessons.Length == 0 ? 0 : lessons.Min(l => l.LineTokens);
        (_scopeOf, _scopeExamples) = GroupScopes(lessons);
        (_scopeTools, _toolBits) = ToolMasks(_scopeExamples);
    }

    private const byte KeywordTriggered = 1;
    private const byte PinnedFlag = 2;

    /// <summary>The index of "no snapshot": the baseline, which injects nothing.</summary>
    public static LessonIndex Empty { get; } = Build(null);

    public Snapshot? Snapshot { get; }

    public string? SnapshotId => Snapshot?.Id;

    public RetrievalSettings Settings { get; }

    public int Count => _lessons.Length;

    /// <summary>True when the vector half needs the query embedded by the user's generator.</summary>
    public bool UsesEmbeddingGenerator => _dense is not null;

    /// <summary>Tokens of the opening and closing lines of the section.</summary>
    public int FrameTokens => _frameTokens;

    public IndexedLesson this[int index] => _lessons[index];

    /// <summary>Builds the index with the built-in hashed n-gram embedding for the vector half.</summary>
    public static LessonIndex Build(Snapshot? snapshot)
    {
        var lessons = Prepare(snapshot, out var documents, out var keywords);
        var lexical = LexicalIndex.Build(documents.Select(TokensOf).ToArray());
        var sparse = HashedVectorIndex.Build(documents);
        return new LessonIndex(snapshot, lessons, lexical, sparse, null, keywords);
    }

    /// <summary>
    /// Builds the index, with the user's embeddings for the vector half when <paramref name="embeddings"/> is given
    /// (lessons it has embedded before are not embedded again).
    /// </summary>
    public static async Task<LessonIndex> BuildAsync(Snapshot? snapshot, LessonEmbeddingCache? embeddings, CancellationToken cancellationToken = default)
    {
        if (embeddings is null)
        {
            return Build(snapshot);
        }

        var lessons = Prepare(snapshot, out var documents, out var keywords);
        var lexical = LexicalIndex.Build(documents.Select(TokensOf).ToArray());
        var vectors = await embeddings.EmbedAsync(documents, snapshot?.Id, cancellationToken).ConfigureAwait(false);
        return new LessonIndex(snapshot, lessons, lexical, null, DenseVectorIndex.Build(vectors), keywords);
    }

    /// <summary>The text a lesson is matched on: what it says, its keywords and its trigger description.</summary>
    internal static string DocumentText(Lesson lesson)
        => string.Join('\n', [lesson.Text, .. lesson.Trigger.Keywords, lesson.Trigger.Description ?? ""]);

    /// <summary>
    /// The text a query is embedded as: the task, and the turn when it says something the task does not (an agent's
    /// first user message is often the task itself, whose vector the episode started computing when it began).
    /// </summary>
    internal static string QueryText(string task, string? turn)
        => string.IsNullOrEmpty(turn) || string.Equals(turn.Trim(), task.Trim(), StringComparison.Ordinal) ? task : task + "\n" + turn;

    private static IReadOnlyList<string> TokensOf(string text) => TextTokenizer.Tokens(text);

    private static IndexedLesson[] Prepare(Snapshot? snapshot, out List<string> documents, out Dictionary<string, KeywordEntry[]> keywords)
    {
        var source = snapshot?.Lessons.Where(l => !l.IsRetired).ToArray() ?? [];
        documents = new List<string>(source.Length);
        var keywordLists = new Dictionary<string, List<KeywordEntry>>(StringComparer.Ordinal);
        var lessons = new IndexedLesson[source.Length];
        for (var i = 0; i < source.Length; i++)
        {
            var lesson = source[i];
            var line = LessonSection.Line(lesson);
            var unit = string.IsNullOrEmpty(lesson.Scope.UnitKey) ? null : lesson.Scope.UnitKey;
            lessons[i] = new IndexedLesson
            {
                Lesson = lesson,
                Line = line,
                LineTokens = TokenCounter.Count(line),
                Trigger = lesson.Trigger.Kind,
                Tenant = lesson.Scope.Tenant,
                Unit = unit,
                NeverInjected = lesson.Kind == LessonKind.UserFact && unit is null,
                Labels = [.. lesson.Scope.Labels],
                EvidenceLabels = [.. lesson.Scope.EvidenceLabels],
                Tools = [.. lesson.Scope.Tools.Where(t => !string.IsNullOrWhiteSpace(t))],
            };
            documents.Add(DocumentText(lesson));
            if (lesson.Trigger.Kind == TriggerKind.Keywords)
            {
                foreach (var keyword in lesson.Trigger.Keywords)
                {
                    var tokens = TextTokenizer.Tokens(keyword, includeStopWords: true);
                    if (tokens.Count == 0)
                    {
                        continue;
                    }

                    // One-token keywords under their token, longer ones under their first two tokens (see MatchKeywords).
                    var key = tokens.Count == 1 ? tokens[0] : tokens[0] + PairSeparator + tokens[1];
                    if (!keywordLists.TryGetValue(key, out var list))
                    {
                        keywordLists[key] = list = [];
                    }

                    list.Add(new KeywordEntry(i, [.. tokens]));
                }
            }
        }

        keywords = keywordLists.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
        return lessons;
    }

    /// <summary>Joins a keyword's first two tokens into its key; tokens are letters and digits, so it never occurs in one.</summary>
    private const char PairSeparator = '\u0001';

    /// <summary>
    /// Numbers the distinct scopes (tenant, unit, labels, tools) of the lessons. A call decides each scope once, on
    /// first meeting it, instead of once per lesson; snapshots have few scopes beside per-user facts.
    /// </summary>
    private static (int[] ScopeOf, IndexedLesson[] Examples) GroupScopes(IndexedLesson[] lessons)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var examples = new List<IndexedLesson>();
        var scopeOf = new int[lessons.Length];
        for (var i = 0; i < lessons.Length; i++)
        {
            var l = lessons[i];
            var key = string.Join('\u001f', [
                l.NeverInjected ? "never" : "", l.Tenant, l.Unit ?? "\u0000",
                .. l.Labels.Select(p => p.Key + "=" + p.Value), "|", .. l.EvidenceLabels.Select(p => p.Key + "~" + p.Value), "|", .. l.Tools.Order(StringComparer.OrdinalIgnoreCase)]);
            if (!ids.TryGetValue(key, out var id))
            {
                ids[key] = id = examples.Count;
                examples.Add(l);
            }

            scopeOf[i] = id;
        }

        return (scopeOf, [.. examples]);
    }

    /// <summary>
    /// Each scope's required tools as a bit mask, so that a query refuses a scope whose tools it does not offer without
    /// reading the scope's lesson (most refusals in a snapshot spanning several tool sets; each read is a cache miss).
    /// A scope naming a tool beyond the first 64 distinct ones gets no mask and is decided by <see cref="InScope"/>.
    /// </summary>
    private static (ulong[] Masks, Dictionary<string, int> Bits) ToolMasks(IndexedLesson[] scopes)
    {
        var bits = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var masks = new ulong[scopes.Length];
        for (var s = 0; s < scopes.Length; s++)
        {
            var mask = 0UL;
            foreach (var tool in scopes[s].Tools)
            {
                if (!bits.TryGetValue(tool, out var bit))
                {
                    if (bits.Count == 64)
                    {
                        mask = 0;
                        break;
                    }

                    bits[tool] = bit = bits.Count;
                }

                mask |= 1UL << bit;
            }

            masks[s] = mask;
        }

        return (masks, bits);
    }

    /// <summary>The query's offered tools as bits of <see cref="_toolBits"/>; null when it offers no list (every tool counts as offered).</summary>
    private ulong? OfferedTools(RetrievalQuery query)
    {
        if (query.AvailableTools is null || _toolBits.Count == 0)
        {
            return null;
        }

        var mask = 0UL;
        foreach (var tool in query.AvailableTools)
        {
            if (tool is not null && _toolBits.TryGetValue(tool, out var bit))
            {
                mask |= 1UL << bit;
            }
        }

        return mask;
    }

    /// <summary>
    /// Picks the lessons for a query. With <see cref="UsesEmbeddingGenerator"/>, <paramref name="queryEmbedding"/> is the
    /// query's vector; left empty, the lexical (BM25) side picks alone (a call whose embedding was not ready in time).
    /// </summary>
    public RetrievalResult Retrieve(RetrievalQuery query, ReadOnlySpan<float> queryEmbedding = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var n = _lessons.Length;
        if (n == 0)
        {
            return RetrievalResult.None(SnapshotId);
        }

        var scratch = RetrievalScratch.Rent();
        try
        {
            return Retrieve(scratch, query, queryEmbedding);
        }
        finally
        {
            RetrievalScratch.Return(scratch);
        }
    }

    private RetrievalResult Retrieve(RetrievalScratch scratch, RetrievalQuery query, ReadOnlySpan<float> queryEmbedding)
    {
        var n = _lessons.Length;
        scratch.Begin(n);
        TextTokenizer.Tokenize(query.Task, scratch.Tokens);
        TextTokenizer.Tokenize(query.Turn, scratch.Tokens);

        var lexicalScale = ScoreLexical(scratch);
        MatchKeywords(scratch);
        if (_dense is not null)
        {
            ScoreDense(scratch, queryEmbedding);
        }
        else
        {
            ScoreSparse(scratch);
        }

        var settings = Settings;
        // Without the call's query embedding (not ready in time) the lexical side serves alone, at full weight.
        var lexicalWeight = _dense is not null && queryEmbedding.IsEmpty ? 1f : (float)settings.LexicalWeight;
        var lexical = scratch.Lexical.AsSpan(0, n);
        var vector = scratch.Vector.AsSpan(0, n);
        var scores = scratch.Scores.AsSpan(0, n);
        Combine(lexical, lexicalScale, lexicalWeight, vector, scores);

        return Select(scratch, query, scores, lexicalScale);
    }

    /// <summary>
    /// score = w * min(1, lexical * scale) + (1 - w) * clamp(vector, 0, 1), with the clamped vector written back (it is
    /// what callers see as the vector score). One pass, eight lessons at a time.
    /// </summary>
    private static void Combine(ReadOnlySpan<float> lexical, float scale, float weight, Span<float> vector, Span<float> scores)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vScale = Vector256.Create(scale);
            var vWeight = Vector256.Create(weight);
            var vRest = Vector256.Create(1 - weight);
            var zero = Vector256<float>.Zero;
            var one = Vector256<float>.One;
            ref var l = ref MemoryMarshal.GetReference(lexical);
            ref var v = ref MemoryMarshal.GetReference(vector);
            ref var s = ref MemoryMarshal.GetReference(scores);
            for (; i + Vector256<float>.Count <= scores.Length; i += Vector256<float>.Count)
            {
                var lex = Vector256.Min(Vector256.LoadUnsafe(ref l, (nuint)i) * vScale, one);
                var vec = Vector256.Min(Vector256.Max(Vector256.LoadUnsafe(ref v, (nuint)i), zero), one);
                vec.StoreUnsafe(ref v, (nuint)i);
                ((vWeight * lex) + (vRest * vec)).StoreUnsafe(ref s, (nuint)i);
            }
        }

        for (; i < scores.Length; i++)
        {
            vector[i] = Math.Clamp(vector[i], 0f, 1f);
            scores[i] = (weight * Math.Min(1f, lexical[i] * scale)) + ((1 - weight) * vector[i]);
        }
    }

    /// <summary>Adds each distinct known query term's BM25 contributions; returns the factor that maps them into [0, 1].</summary>
    private float ScoreLexical(RetrievalScratch scratch)
    {
        var tokens = scratch.Tokens;
        var terms = scratch.TermBuffer(tokens.Count);
        var termCount = 0;
        double idfSum = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].IsStopWord)
            {
                continue;
            }

            var term = _lexical.TermId(tokens.Text(i));
            if (term < 0 || terms.AsSpan(0, termCount).Contains(term))
            {
                continue;
            }

            terms[termCount++] = term;
            idfSum += _lexical.Idf(term);
        }

        _lexical.Postings.AccumulateMany(terms.AsSpan(0, termCount), scratch.Ones(termCount), scratch.Lexical);

        // Normalised by the score of a document of average length holding every known query term once (the share
        // of the query's idf mass the lesson covers); a closer match (shorter, or repeating a term) is clamped at 1.
        return idfSum > 0 ? (float)(1 / idfSum) : 0f;
    }

    /// <summary>Marks Keywords lessons whose keyword (a token sequence, stop words included) occurs in the query.</summary>
    private void MatchKeywords(RetrievalScratch scratch)
    {
        if (_keywords.Count == 0)
        {
            return;
        }

        // A keyword of several tokens is looked up by the query's token pair at each position, so only the keywords
        // that begin with that pair are read (a first token shared by many keywords, such as the first word of a tool
        // name, used to mean reading all of them at every occurrence).
        var tokens = scratch.Tokens;
        Span<char> pair = stackalloc char[128];
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens.Text(i);
            if (_keywordLookup.TryGetValue(token, out var single))
            {
                foreach (var entry in single)
                {
                    scratch.MarkKeywordMatch(entry.Lesson);
                }
            }

            if (i + 1 == tokens.Count)
            {
                break;
            }

            var next = tokens.Text(i + 1);
            var length = token.Length + 1 + next.Length;
            var key = length <= pair.Length ? pair[..length] : new char[length];
            token.CopyTo(key);
            key[token.Length] = PairSeparator;
            next.CopyTo(key[(token.Length + 1)..]);
            if (!_keywordLookup.TryGetValue(key, out var entries))
            {
                continue;
            }

            foreach (var entry in entries)
            {
                if (i + entry.Tokens.Length > tokens.Count)
                {
                    continue;
                }

                var match = true;
                for (var k = 2; k < entry.Tokens.Length && match; k++)
                {
                    match = tokens.Text(i + k).SequenceEqual(entry.Tokens[k]);
                }

                if (match)
                {
                    scratch.MarkKeywordMatch(entry.Lesson);
                }
            }
        }
    }

    /// <summary>Accumulates the cosine with the built-in embedding, one query feature at a time.</summary>
    private void ScoreSparse(RetrievalScratch scratch)
    {
        var features = scratch.Features;
        HashedEmbedding.AddFeatures(scratch.Tokens, features);
        features.NormalizeUnordered();
        var dims = features.Dimensions;
        var weights = features.Weights;
        _sparse!.Accumulate(dims, weights, scratch.Vector, scratch.WordScores(_sparse.FrequentWords), scratch.WordIds(_sparse.FrequentWords));
    }

    /// <summary>Cosine with the user's embeddings: one SIMD dot product per lesson.</summary>
    private void ScoreDense(RetrievalScratch scratch, ReadOnlySpan<float> queryEmbedding)
    {
        if (queryEmbedding.IsEmpty)
        {
            return;
        }

        if (queryEmbedding.Length != _dense!.Dimensions)
        {
            throw new InvalidOperationException(
                $"The query embedding has {queryEmbedding.Length} dimensions but the lessons of snapshot {SnapshotId} were embedded with {_dense.Dimensions}.");
        }

        var query = scratch.QueryVectorBuffer(queryEmbedding.Length).AsSpan(0, queryEmbedding.Length);
        queryEmbedding.CopyTo(query);
        DenseVectorIndex.NormalizeInPlace(query);
        var vector = scratch.Vector;
        for (var i = 0; i < _lessons.Length; i++)
        {
            vector[i] = _dense.Similarity(query, i);
        }
    }

    /// <summary>
    /// Keeps the best <paramref name="capacity"/> lessons whose trigger fires: a description (or always) lesson scoring
    /// at least the minimum, a keyword lesson whose keyword matched, an always lesson whatever its score (explicit
    /// triggers need no minimum similarity). A bounded heap holds them; once it is full its worst score becomes the
    /// bar, and the scan skips eight scores at a time while none reaches the bar, so only a handful of lessons are
    /// ever ordered. Returns how many were kept (sorted best first) and whether any eligible lesson was left out.
    /// </summary>
    private int CollectTop(RetrievalScratch scratch, ScopeDecisions scopes, ReadOnlySpan<float> scores, float minScore, int capacity, out bool truncated)
    {
        var heap = scratch.CandidateBuffer(capacity).AsSpan(0, capacity);
        var count = 0;
        var flags = scratch.KeywordFlags;
        var bar = minScore;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var first = ref MemoryMarshal.GetReference(scores);
            for (; i + Vector256<float>.Count <= scores.Length; i += Vector256<float>.Count)
            {
                // Only the lanes at or above the bar are visited (no branch per lane on the score); the bar is
                // re-read after each offer, so a lane it has since passed is skipped.
                var above = Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref first, (nuint)i), Vector256.Create(bar)).ExtractMostSignificantBits();
                while (above != 0)
                {
                    var j = i + BitOperations.TrailingZeroCount(above);
                    above &= above - 1;
                    if (scores[j] >= bar && ((_flags[j] & KeywordTriggered) == 0 || flags[j] != 0) && scopes.Allows(j))
                    {
                        Offer(heap, ref count, new Candidate(scores[j], j));
                        bar = count == capacity ? Math.Max(minScore, heap[0].Score) : minScore;
                    }
                }
            }
        }

        for (; i < scores.Length; i++)
        {
            if (scores[i] >= bar && ((_flags[i] & KeywordTriggered) == 0 || flags[i] != 0) && scopes.Allows(i))
            {
                Offer(heap, ref count, new Candidate(scores[i], i));
                bar = count == capacity ? Math.Max(minScore, heap[0].Score) : minScore;
            }
        }

        // Explicit triggers below the minimum score come last: once the heap is full of better lessons they are
        // turned away by one comparison, without deciding their scope.
        OfferForced(_always, scores, minScore, scopes, heap, ref count);
        OfferForced(scratch.Matched, scores, minScore, scopes, heap, ref count);

        // A full heap may have turned eligible lessons away (or never offered them, below the bar).
        truncated = count == capacity;
        var kept = heap[..count];
        kept.Sort(default(CandidateOrder));
        return count;
    }

    private static void OfferForced(ReadOnlySpan<int> lessons, ReadOnlySpan<float> scores, float minScore, ScopeDecisions scopes, Span<Candidate> heap, ref int count)
    {
        foreach (var lesson in lessons)
        {
            // A full heap whose worst already reaches the minimum turns away every lesson below it: stop reading.
            if (count == heap.Length && heap[0].Score >= minScore)
            {
                return;
            }

            var score = scores[lesson];
            if (score < minScore && (count < heap.Length || score >= heap[0].Score) && scopes.Allows(lesson))
            {
                Offer(heap, ref count, new Candidate(score, lesson));
            }
        }
    }

    /// <summary>Adds a candidate to the bounded min-heap (worst on top), evicting the worst when full.</summary>
    private static void Offer(Span<Candidate> heap, ref int count, Candidate candidate)
    {
        if (count < heap.Length)
        {
            var i = count++;
            heap[i] = candidate;
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (!heap[parent].RanksAbove(heap[i]))
                {
                    break;
                }

                (heap[parent], heap[i]) = (heap[i], heap[parent]);
                i = parent;
            }

            return;
        }

        if (!candidate.RanksAbove(heap[0]))
        {
            return;
        }

        heap[0] = candidate;
        var at = 0;
        while (true)
        {
            var left = (2 * at) + 1;
            if (left >= count)
            {
                return;
            }

            var worst = left;
            if (left + 1 < count && heap[worst].RanksAbove(heap[left + 1]))
            {
                worst = left + 1;
            }

            if (!heap[at].RanksAbove(heap[worst]))
            {
                return;
            }

            (heap[at], heap[worst]) = (heap[worst], heap[at]);
            at = worst;
        }
    }

    /// <summary>Tenant, unit, labels and tools: a lesson outside its scope is never shown, whatever its score.</summary>
    internal static bool InScope(IndexedLesson lesson, RetrievalQuery query)
    {
        if (lesson.NeverInjected || !string.Equals(lesson.Tenant, query.Tenant, StringComparison.Ordinal))
        {
            return false;
        }

        if (lesson.Unit is not null && !string.Equals(lesson.Unit, query.UnitKey, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var (key, value) in lesson.Labels)
        {
            if (!query.Labels.TryGetValue(key, out var actual) || !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        // Labels learned from evidence: a request that says it is elsewhere (same key, another value) does not get it.
        foreach (var (key, value) in lesson.EvidenceLabels)
        {
            if (query.Labels.TryGetValue(key, out var actual) && !string.Equals(actual, value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        if (lesson.Tools.Length == 0 || query.AvailableTools is null)
        {
            return true;
        }

        // Every tool the lesson names must be on offer: a lesson about tools the agent does not have (another domain's,
        // even when the two share a look-up tool) would steer it toward calls it cannot make.
        var available = query.AvailableTools as string[] ?? [.. query.AvailableTools];
        foreach (var tool in lesson.Tools)
        {
            var offered = false;
            foreach (var name in available)
            {
                if (string.Equals(tool, name, StringComparison.OrdinalIgnoreCase))
                {
                    offered = true;
                    break;
                }
            }

            if (!offered)
            {
                return false;
            }
        }

        return true;
    }


    /// <summary>
    /// Takes in-scope candidates best first, skipping any too long for the remaining token budget, until top-k are
    /// taken or nothing else can fit. Greedy over the best
    /// few equals greedy over all of them whenever it finishes inside the few; when it does not, it asks for more.
    /// </summary>
    private RetrievalResult Select(RetrievalScratch scratch, RetrievalQuery query, ReadOnlySpan<float> scores, float lexicalScale)
    {
        var settings = Settings;
        var room = settings.TokenBudget - _frameTokens;
        if (room < _smallestLine)
        {
            return RetrievalResult.None(SnapshotId);
        }

        var minScore = (float)settings.MinScore;
        var scopes = new ScopeDecisions(this, query, scratch.ScopeMarks(_scopeExamples.Length), OfferedTools(query));
        var capacity = Math.Min(_lessons.Length, Math.Max(8, settings.TopK * 2));
        while (true)
        {
            var count = CollectTop(scratch, scopes, scores, minScore, capacity, out var truncated);
            var ranked = scratch.Candidates.AsSpan(0, count);
            var picked = new List<RetrievedLesson>(settings.TopK);
            var lines = scratch.Lines;
            lines.Clear();
            var used = 0;
            var finished = false;
            List<string>? withheld = null;

            // Pinned lessons in scope come first, whatever their score, and do not count against top-k (only the
            // token budget limits them); the per-lesson holdout never withholds them.
            foreach (var index in _pinned)
            {
                if (used + _lineTokens[index] <= room && scopes.Allows(index))
                {
                    var lesson = _lessons[index];
                    used += lesson.LineTokens;
                    lines.Add(lesson.Line);
                    picked.Add(new RetrievedLesson(lesson.Lesson, scores[index], Math.Min(1f, scratch.Lexical[index] * lexicalScale), scratch.Vector[index], lesson.LineTokens));
                }
            }

            var pinned = picked.Count;
            foreach (var candidate in ranked)
            {
                if (picked.Count - pinned == settings.TopK || room - used < _smallestLine)
                {
                    finished = true;
                    break;
                }

                if ((_flags[candidate.Lesson] & PinnedFlag) != 0 || used + _lineTokens[candidate.Lesson] > room)
                {
                    continue;
                }

                var lesson = _lessons[candidate.Lesson];

                // Eligible here: the per-lesson holdout withholds it from its share of units, and says so.
                if (query.LessonHoldoutShare > 0 && !string.IsNullOrWhiteSpace(query.UnitKey) && LessonHoldout.Withholds(query.Tenant, lesson.Lesson.Id, query.UnitKey, query.LessonHoldoutShare))
                {
                    (withheld ??= []).Add(lesson.Lesson.Id);
                    continue;
                }

                used += lesson.LineTokens;
                lines.Add(lesson.Line);
                picked.Add(new RetrievedLesson(
                    lesson.Lesson,
                    candidate.Score,
                    Math.Min(1f, scratch.Lexical[candidate.Lesson] * lexicalScale),
                    scratch.Vector[candidate.Lesson],
                    lesson.LineTokens));
            }

            finished |= picked.Count - pinned == settings.TopK || room - used < _smallestLine;
            if (finished || !truncated || capacity == _lessons.Length)
            {
                var result = picked.Count == 0
                    ? RetrievalResult.None(SnapshotId)
                    : new RetrievalResult(SnapshotId, picked, _frameTokens + used, LessonSection.Render(_header, CollectionsMarshal.AsSpan(lines)));
                lines.Clear();
                return withheld is null ? result : result with { WithheldLessonIds = withheld };
            }

            capacity = Math.Min(_lessons.Length, capacity * 8);
        }
    }

    private readonly record struct KeywordEntry(int Lesson, string[] Tokens);

    /// <summary>Best first (no delegate on the call path).</summary>
    private readonly struct CandidateOrder : IComparer<Candidate>
    {
        public int Compare(Candidate x, Candidate y) => x.RanksAbove(y) ? -1 : y.RanksAbove(x) ? 1 : 0;
    }

    /// <summary>Each scope decided at most once per call: 0 undecided, 1 allowed, 2 refused.</summary>
    private readonly ref struct ScopeDecisions(LessonIndex index, RetrievalQuery query, Span<byte> marks, ulong? offeredTools)
    {
        private readonly Span<byte> _marks = marks;

        public bool Allows(int lesson)
        {
            var scope = index._scopeOf[lesson];
            var mark = _marks[scope];
            if (mark == 0)
            {
                var required = index._scopeTools[scope];
                _marks[scope] = mark = (required != 0 && offeredTools is { } offered && (required & ~offered) != 0) || !InScope(index._scopeExamples[scope], query)
                    ? (byte)2
                    : (byte)1;
            }

            return mark == 1;
        }
    }
}
