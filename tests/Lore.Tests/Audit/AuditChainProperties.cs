using Xunit;
using CsCheck;
using Lore.Testing;

namespace Lore.Tests.Audit;

/// <summary>Properties of verification over generated logs: any single change to one record is detected and named.</summary>
public sealed class AuditChainProperties
{
    private static readonly DateTimeOffset Start = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<AuditEntry> Build(int count, int salt)
    {
        var entries = new List<AuditEntry>(count);
        AuditEntry? previous = null;
        for (var i = 0; i < count; i++)
        {
            previous = AuditEntry.Chain(previous, new AuditDraft
            {
                Tenant = i % 2 == 0 ? Tenants.Default : "acme",
                Actor = $"actor-{(i + salt) % 3}",
                Action = i % 4 == 0 ? AuditActions.SnapshotCreated : AuditActions.LessonAdmitted,
                Subject = $"subject-{i % 5}",
                Reason = $"reason {salt}",
                DetailsJson = $$"""{"i":{{i % 7}}}""",
                At = Start.AddSeconds(i * 10 + salt % 10),
            });
            entries.Add(previous);
        }

        return entries;
    }

    /// <summary>A log, the index of one record, which field to change, and what to change it to.</summary>
    private static readonly Gen<(int Count, int Salt, int Index, int Field, string Text, int Delta)> Mutations =
        from count in Gen.Int[1, 24]
        from salt in Gen.Int[0, 1000]
        from index in Gen.Int[0, count - 1]
        from field in Gen.Int[0, 9]
        from text in Gen.String
        from delta in Gen.Int[-5, 5]
        select (count, salt, index, field, text, delta == 0 ? 1 : delta);

    private static readonly string[] FieldNames = ["sequence", "at", "tenant", "actor", "action", "subject", "reason", "details", "previousHash", "hash"];

    private static AuditEntry Mutate(AuditEntry entry, int field, string text, int delta)
    {
        string Other(string value) => text == value ? value + "x" : text;
        return field switch
        {
            0 => entry with { Sequence = entry.Sequence + delta },
            1 => entry with { At = entry.At.AddTicks(delta) },
            2 => entry with { Tenant = Other(entry.Tenant) },
            3 => entry with { Actor = Other(entry.Actor) },
            4 => entry with { Action = Other(entry.Action) },
            5 => entry with { Subject = Other(entry.Subject) },
            6 => entry with { Reason = Other(entry.Reason) },
            7 => entry with { DetailsJson = Other(entry.DetailsJson) },
            8 => entry with { PreviousHash = Other(entry.PreviousHash) },
            _ => entry with { Hash = Other(entry.Hash) },
        };
    }

    [Fact]
    public void Changing_any_field_of_any_single_record_is_detected_at_that_record()
    {
        SeededCheck.ForAll(Mutations, m =>
        {
            var entries = Build(m.Count, m.Salt);
            entries[m.Index] = Mutate(entries[m.Index], m.Field, m.Text, m.Delta);

            var result = AuditVerifier.Verify(entries);

            Assert.False(result.IsIntact, $"changing {FieldNames[m.Field]} of record {m.Index + 1} went unnoticed");
            Assert.Equal(m.Index + 1, result.Fault!.Sequence);
        }, iterations: 1000);
    }

    [Fact]
    public void A_content_change_hidden_by_recomputing_the_hash_is_detected_at_that_record_or_by_the_pinned_head()
    {
        SeededCheck.ForAll(Mutations.Where(m => m.Field is >= 1 and <= 7), m =>
        {
            var entries = Build(m.Count, m.Salt);
            var pinned = new AuditHead(entries.Count, entries[^1].Hash);
            var mutated = Mutate(entries[m.Index], m.Field, m.Text, m.Delta);
            entries[m.Index] = mutated with { Hash = AuditChain.ComputeHash(mutated) };

            var unpinned = AuditVerifier.Verify(entries);
            var result = AuditVerifier.Verify(entries, pinned);

            Assert.False(result.IsIntact);
            Assert.Equal(m.Index + 1, result.Fault!.Sequence);
            if (m.Index < m.Count - 1)
            {
                Assert.Equal(AuditFaultKind.Edited, unpinned.Fault!.Kind);
                Assert.Equal(m.Index + 1, unpinned.Fault.Sequence);
            }
            else
            {
                Assert.Equal(AuditFaultKind.Rewritten, result.Fault.Kind);
            }
        }, iterations: 500);
    }

    [Fact]
    public void Removing_any_single_record_is_detected_and_named()
    {
        var removals = from count in Gen.Int[1, 24] from salt in Gen.Int[0, 1000] from index in Gen.Int[0, count - 1] select (count, salt, index);
        SeededCheck.ForAll(removals, r =>
        {
            var (count, salt, index) = r;
            var entries = Build(count, salt);
            var pinned = new AuditHead(entries.Count, entries[^1].Hash);
            entries.RemoveAt(index);

            var result = AuditVerifier.Verify(entries, pinned);

            Assert.False(result.IsIntact);
            Assert.Equal(index + 1, result.Fault!.Sequence);
            Assert.Equal(index == count - 1 ? AuditFaultKind.Truncated : AuditFaultKind.Deleted, result.Fault.Kind);
        }, iterations: 500);
    }

    [Fact]
    public void Swapping_any_two_records_is_named_as_a_reordering_at_the_earlier_one()
    {
        var swaps =
            from count in Gen.Int[2, 24]
            from salt in Gen.Int[0, 1000]
            from first in Gen.Int[0, count - 2]
            from second in Gen.Int[first + 1, count - 1]
            from keepNumbers in Gen.Bool
            select (count, salt, first, second, keepNumbers);
        SeededCheck.ForAll(swaps, s =>
        {
            var entries = Build(s.count, s.salt);
            var (a, b) = (entries[s.first], entries[s.second]);
            entries[s.first] = s.keepNumbers ? b with { Sequence = a.Sequence } : b;
            entries[s.second] = s.keepNumbers ? a with { Sequence = b.Sequence } : a;

            var result = AuditVerifier.Verify(entries);

            Assert.Equal(s.first + 1, result.Fault!.Sequence);
            Assert.Equal(AuditFaultKind.Reordered, result.Fault.Kind);
        }, iterations: 500);
    }

    [Fact]
    public void An_untouched_log_of_any_length_verifies_against_its_own_head()
    {
        SeededCheck.ForAll(from count in Gen.Int[0, 40] from salt in Gen.Int[0, 1000] select (count, salt), g =>
        {
            var entries = Build(g.count, g.salt);
            var result = AuditVerifier.Verify(entries);

            Assert.True(result.IsIntact);
            Assert.Equal(g.count, result.Records);
            Assert.True(AuditVerifier.Verify(entries, result.Head).IsIntact);
        });
    }
}
