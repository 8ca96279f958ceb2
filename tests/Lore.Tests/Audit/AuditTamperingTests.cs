using Xunit;
namespace Lore.Tests.Audit;

/// <summary>
/// Every way someone with write access to the SQLite file can change the audit log is caught by verification, which
/// names the first bad record and the kind of change.
/// </summary>
public sealed class AuditTamperingTests
{
    private static readonly string Ffff = new('f', 64);

    [Fact]
    public async Task An_untouched_log_verifies_and_reports_its_count_and_head()
    {
        using var log = await TamperableAuditLog.CreateAsync();

        var result = await log.VerifyAsync();

        Assert.True(result.IsIntact);
        Assert.Equal(6, result.Records);
        Assert.Equal(log.PinnedHead, result.Head);
        Assert.True((await log.VerifyAsync(log.PinnedHead)).IsIntact);
    }

    [Fact]
    public async Task An_empty_log_verifies_with_the_genesis_head()
    {
        using var log = await TamperableAuditLog.CreateAsync(records: 1);
        log.Tamper("DELETE FROM audit_log;");

        var result = await log.VerifyAsync();

        Assert.True(result.IsIntact);
        Assert.Equal(AuditHead.Empty, result.Head);
        var pinned = await log.VerifyAsync(log.PinnedHead);
        Assert.Equal(AuditFaultKind.Truncated, pinned.Fault!.Kind);
        Assert.Equal(1, pinned.Fault.Sequence);
    }

    [Theory]
    [InlineData("at_ticks = at_ticks + 1")]
    [InlineData("tenant = 'mallory'")]
    [InlineData("actor = 'cli:someone-else'")]
    [InlineData("action = 'lesson.rejected'")]
    [InlineData("subject = 'les-999'")]
    [InlineData("reason = ''")]
    [InlineData("details_json = '{\"step\":3,\"evidence\":[]}'")]
    [InlineData("previous_hash = 'PREVIOUS'")]
    [InlineData("hash = 'HASH'")]
    public async Task Editing_any_field_of_a_record_names_that_record_as_edited(string assignment)
    {
        using var log = await TamperableAuditLog.CreateAsync();
        log.Tamper($"UPDATE audit_log SET {assignment.Replace("PREVIOUS", Ffff, StringComparison.Ordinal).Replace("HASH", new string('a', 64), StringComparison.Ordinal)} WHERE sequence = 3;");

        var fault = (await log.VerifyAsync()).Fault;

        Assert.NotNull(fault);
        Assert.Equal(3, fault.Sequence);
        Assert.Equal(AuditFaultKind.Edited, fault.Kind);
    }

    [Fact]
    public async Task Renumbering_a_record_names_the_position_it_left()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        log.Tamper("UPDATE audit_log SET sequence = 100 WHERE sequence = 3;");

        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(3, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Reordered, fault.Kind);
    }

    [Fact]
    public async Task An_edit_hidden_by_recomputing_the_records_hash_is_exposed_by_the_next_records_link()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        var original = log.Written[2];
        var forged = original with { Reason = "nothing to see here" };
        forged = forged with { Hash = AuditChain.ComputeHash(forged) };
        log.Tamper($"UPDATE audit_log SET reason = '{forged.Reason}', hash = '{forged.Hash}' WHERE sequence = 3;");

        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(3, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Edited, fault.Kind);
        Assert.Contains("recomputed hash", fault.Description);
    }

    [Fact]
    public async Task Deleting_a_middle_record_names_it_as_missing()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        log.Tamper("DELETE FROM audit_log WHERE sequence = 4;");

        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(4, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Deleted, fault.Kind);
        Assert.Contains("record 4 is missing", fault.Description);
    }

    [Fact]
    public async Task Deleting_a_middle_record_and_renumbering_the_rest_is_still_a_deletion()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        log.Tamper("DELETE FROM audit_log WHERE sequence = 4; UPDATE audit_log SET sequence = sequence - 1 WHERE sequence > 4;");

        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(4, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Deleted, fault.Kind);
        Assert.Contains("written as record 5", fault.Description);
    }

    [Fact]
    public async Task Deleting_the_first_record_is_caught_at_record_one()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        log.Tamper("DELETE FROM audit_log WHERE sequence = 1;");

        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(1, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Deleted, fault.Kind);
        Assert.Contains("starts at record 2", fault.Description);
    }

    [Fact]
    public async Task Swapping_two_records_names_the_first_as_reordered()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        const string columns = "at_ticks, tenant, actor, action, subject, reason, details_json, previous_hash, hash";
        log.Tamper($"""
            CREATE TEMP TABLE swap AS SELECT sequence, {columns} FROM audit_log WHERE sequence IN (2, 5);
            UPDATE audit_log SET hash = 'x' || sequence WHERE sequence IN (2, 5);
            UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM swap WHERE swap.sequence = 5) WHERE sequence = 2;
            UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM swap WHERE swap.sequence = 2) WHERE sequence = 5;
            """);

        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(2, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Reordered, fault.Kind);
        Assert.Contains("at position 5", fault.Description);
    }

    [Fact]
    public async Task Swapping_two_adjacent_records_is_a_reordering()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        const string columns = "at_ticks, tenant, actor, action, subject, reason, details_json, previous_hash, hash";
        log.Tamper($"""
            CREATE TEMP TABLE swap AS SELECT sequence, {columns} FROM audit_log WHERE sequence IN (3, 4);
            UPDATE audit_log SET hash = 'x' || sequence WHERE sequence IN (3, 4);
            UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM swap WHERE swap.sequence = 4) WHERE sequence = 3;
            UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM swap WHERE swap.sequence = 3) WHERE sequence = 4;
            """);

        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(3, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Reordered, fault.Kind);
    }

    [Fact]
    public async Task A_truncated_tail_is_caught_against_the_pinned_head()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        log.Tamper("DELETE FROM audit_log WHERE sequence >= 5;");

        // The remaining chain is internally consistent: only the pinned head can tell.
        var unpinned = await log.VerifyAsync();
        Assert.True(unpinned.IsIntact);
        Assert.Equal(4, unpinned.Records);

        var fault = (await log.VerifyAsync(log.PinnedHead)).Fault;

        Assert.Equal(5, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Truncated, fault.Kind);
        Assert.Contains("records 5 to 6 were removed", fault.Description);
    }

    [Fact]
    public async Task A_log_that_grew_since_the_head_was_pinned_still_verifies_against_it()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        var pinned = new AuditHead(4, log.Written[3].Hash);

        Assert.True((await log.VerifyAsync(pinned)).IsIntact);
    }

    [Fact]
    public async Task A_log_rewritten_with_every_hash_recomputed_is_caught_against_the_pinned_head()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        var rewritten = new List<AuditEntry>();
        AuditEntry? previous = null;
        foreach (var entry in log.Written)
        {
            var draft = new AuditDraft { Tenant = entry.Tenant, Actor = entry.Actor, Action = entry.Action, Subject = entry.Subject, Reason = entry.Sequence == 2 ? "rewritten" : entry.Reason, DetailsJson = entry.DetailsJson, At = entry.At };
            previous = AuditEntry.Chain(previous, draft);
            rewritten.Add(previous);
        }

        log.Tamper("DELETE FROM audit_log;");
        foreach (var entry in rewritten)
        {
            log.Insert(entry);
        }

        Assert.True((await log.VerifyAsync()).IsIntact);
        var fault = (await log.VerifyAsync(log.PinnedHead)).Fault;
        Assert.Equal(6, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Rewritten, fault.Kind);
    }

    [Fact]
    public async Task A_forged_record_inserted_with_a_valid_hash_is_named_as_inserted()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        var forged = AuditEntry.Chain(log.Written[2], new AuditDraft
        {
            Tenant = Tenants.Default,
            Actor = "cli:operator-1",
            Action = AuditActions.ReviewApproved,
            Subject = "les-evil",
            Reason = "approved",
            At = log.Written[2].At.AddSeconds(30),
        });
        log.Tamper("UPDATE audit_log SET sequence = -sequence WHERE sequence >= 4; UPDATE audit_log SET sequence = 1 - sequence WHERE sequence < 0;");
        log.Insert(forged);

        var entries = await log.ReadAsync();
        Assert.Equal(7, entries.Count);
        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(4, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Inserted, fault.Kind);
    }

    [Fact]
    public async Task A_forged_record_with_a_made_up_hash_is_named_as_inserted()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        var forged = log.Written[3] with { Subject = "les-evil", Hash = new string('b', 64) };
        log.Tamper("UPDATE audit_log SET sequence = -sequence WHERE sequence >= 4; UPDATE audit_log SET sequence = 1 - sequence WHERE sequence < 0;");
        log.Insert(forged);

        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(4, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Inserted, fault.Kind);
    }

    [Fact]
    public async Task A_record_appended_without_the_chain_is_named_as_edited()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        log.Insert(log.Written[5] with { Sequence = 7, Subject = "les-evil", PreviousHash = log.Written[5].Hash, Hash = new string('c', 64) });

        var fault = (await log.VerifyAsync()).Fault;

        Assert.Equal(7, fault!.Sequence);
        Assert.Equal(AuditFaultKind.Edited, fault.Kind);
    }

    [Fact]
    public async Task The_triggers_refuse_edits_and_deletes_while_they_are_in_place()
    {
        using var log = await TamperableAuditLog.CreateAsync();
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={log.Path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE audit_log SET reason = 'x' WHERE sequence = 1;";
        Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => command.ExecuteNonQuery());
        command.CommandText = "DELETE FROM audit_log WHERE sequence = 1;";
        Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => command.ExecuteNonQuery());

        Assert.True((await log.VerifyAsync(log.PinnedHead)).IsIntact);
    }

    [Theory]
    [InlineData("6:abc", "64 hexadecimal digits")]
    [InlineData("six:" + "0000000000000000000000000000000000000000000000000000000000000000", "record count")]
    [InlineData("deadbeef", "SEQUENCE:HASH")]
    [InlineData("0:" + "1111111111111111111111111111111111111111111111111111111111111111", "empty log")]
    public void A_malformed_pinned_head_is_refused_naming_what_is_wrong(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => AuditHead.Parse(text));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_head_reads_back_from_what_verification_prints()
    {
        var head = new AuditHead(42, new string('c', 64));

        Assert.Equal(head, AuditHead.Parse(head.ToString()));
        Assert.Equal(head, AuditHead.Parse("  42:" + new string('C', 64) + " "));
    }
}
