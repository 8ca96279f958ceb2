namespace Lore.Retrieval;

/// <summary>A lesson that passed its trigger and the minimum score, waiting for scope, top-k and the budget.</summary>
internal readonly record struct Candidate(float Score, int Lesson)
{
    /// <summary>Higher score first; on a tie the lower index (snapshots order lessons by id), so results are deterministic.</summary>
    public bool RanksAbove(Candidate other) => Score > other.Score || (Score == other.Score && Lesson < other.Lesson);
}

/// <summary>
/// Working memory for one retrieval at a time: score accumulators sized to the largest snapshot seen, cleared with
/// one vectorised pass per call, so a call allocates nothing in proportion to the snapshot's size. Instances are
/// pooled (a few per core) rather than kept per thread, so a host with many threads holds only as many as run
/// retrievals at once.
/// </summary>
internal sealed class RetrievalScratch
{
    private static readonly RetrievalScratch?[] Pool = new RetrievalScratch?[Math.Max(4, Environment.ProcessorCount * 2)];

    private int[] _matched = new int[16];

    /// <summary>Takes a scratch from the pool (or makes one); give it back with <see cref="Return"/>.</summary>
    public static RetrievalScratch Rent()
    {
        var start = Environment.CurrentManagedThreadId % Pool.Length;
        for (var i = 0; i < Pool.Length; i++)
        {
            var slot = (start + i) % Pool.Length;
            if (Volatile.Read(ref Pool[slot]) is not null && Interlocked.Exchange(ref Pool[slot], null) is { } scratch)
            {
                return scratch;
            }
        }

        return new RetrievalScratch();
    }

    public static void Return(RetrievalScratch scratch)
    {
        var start = Environment.CurrentManagedThreadId % Pool.Length;
        for (var i = 0; i < Pool.Length; i++)
        {
            var slot = (start + i) % Pool.Length;
            if (Volatile.Read(ref Pool[slot]) is null && Interlocked.CompareExchange(ref Pool[slot], scratch, null) is null)
            {
                return;
            }
        }
    }

    public TokenList Tokens { get; } = new();

    public FeatureBuffer Features { get; } = new();

    public float[] Lexical { get; private set; } = [];

    public float[] Vector { get; private set; } = [];

    public float[] Scores { get; private set; } = [];

    /// <summary>Non-zero for lessons whose keyword trigger matched this call; zero everywhere between calls.</summary>
    public byte[] KeywordFlags { get; private set; } = [];

    public int MatchedCount { get; private set; }

    public ReadOnlySpan<int> Matched => _matched.AsSpan(0, MatchedCount);

    public int[] Terms { get; private set; } = new int[64];

    public Candidate[] Candidates { get; private set; } = new Candidate[256];

    public float[] QueryVector { get; private set; } = [];

    /// <summary>The lines of the lessons picked by the call in progress (empty between calls).</summary>
    public List<string> Lines { get; } = new(16);

    /// <summary>Starts a call over a snapshot of <paramref name="lessonCount"/> lessons.</summary>
    public void Begin(int lessonCount)
    {
        foreach (var lesson in Matched)
        {
            KeywordFlags[lesson] = 0;
        }

        MatchedCount = 0;
        if (Lexical.Length < lessonCount)
        {
            Lexical = new float[lessonCount];
            Vector = new float[lessonCount];
            Scores = new float[lessonCount];
            KeywordFlags = new byte[lessonCount];
        }

        Lexical.AsSpan(0, lessonCount).Clear();
        Vector.AsSpan(0, lessonCount).Clear();
        Tokens.Clear();
        Features.Clear();
    }

    public void MarkKeywordMatch(int lesson)
    {
        if (KeywordFlags[lesson] != 0)
        {
            return;
        }

        KeywordFlags[lesson] = 1;
        if (MatchedCount == _matched.Length)
        {
            Array.Resize(ref _matched, _matched.Length * 2);
        }

        _matched[MatchedCount++] = lesson;
    }

    public Candidate[] CandidateBuffer(int atLeast)
    {
        if (Candidates.Length < atLeast)
        {
            Candidates = new Candidate[Math.Max(atLeast, Candidates.Length * 2)];
        }

        return Candidates;
    }

    public int[] TermBuffer(int atLeast)
    {
        if (Terms.Length < atLeast)
        {
            Terms = new int[Math.Max(atLeast, Terms.Length * 2)];
        }

        return Terms;
    }

    private float[] _ones = [];
    private byte[] _scopeMarks = [];

    /// <summary>Cleared per-scope decisions for one call.</summary>
    public Span<byte> ScopeMarks(int scopes)
    {
        if (_scopeMarks.Length < scopes)
        {
            _scopeMarks = new byte[Math.Max(scopes, _scopeMarks.Length * 2)];
        }

        var marks = _scopeMarks.AsSpan(0, scopes);
        marks.Clear();
        return marks;
    }
    private float[] _wordScores = [];
    private int[] _wordIds = [];

    public Span<float> WordScores(int length)
    {
        if (_wordScores.Length < length)
        {
            _wordScores = new float[length];
        }

        return _wordScores.AsSpan(0, length);
    }

    public Span<int> WordIds(int length)
    {
        if (_wordIds.Length < length)
        {
            _wordIds = new int[length];
        }

        return _wordIds.AsSpan(0, length);
    }

    /// <summary>A span of <paramref name="length"/> ones (unit query weights).</summary>
    public ReadOnlySpan<float> Ones(int length)
    {
        if (_ones.Length < length)
        {
            _ones = new float[Math.Max(length, 64)];
            Array.Fill(_ones, 1f);
        }

        return _ones.AsSpan(0, length);
    }

    public float[] QueryVectorBuffer(int length)
    {
        if (QueryVector.Length < length)
        {
            QueryVector = new float[length];
        }

        return QueryVector;
    }
}
