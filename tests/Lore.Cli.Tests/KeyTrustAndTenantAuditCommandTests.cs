using System.Text.Json;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.Data.Sqlite;

namespace Lore.Cli.Tests;

/// <summary>
/// <c>lore keys create --trust-units</c> and <c>lore keys trust ID on|off</c> (an admin's audited decision whether a key
/// may assert units), and <c>lore audit verify --tenant</c> (a tenant's own chain) beside the operator's global verify.
/// </summary>
public sealed class KeyTrustAndTenantAuditCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Store => _dir.File("lore.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_key_created_with_trust_units_can_be_distrusted_and_both_decisions_are_audited_with_the_reason()
    {
        var created = await CliRunner.RunAsync("keys", "create", "--tenant", "acme", "--role", "agent", "--name", "support backend", "--trust-units", "--store", Store, "--json");
        Assert.True(created.ExitCode == 0, created.Error);
        using var json = JsonDocument.Parse(created.Out);
        var id = json.RootElement.GetProperty("key").GetProperty("id").GetString()!;
        Assert.True(json.RootElement.GetProperty("key").GetProperty("trustUnits").GetBoolean());

        var off = await CliRunner.RunAsync("keys", "trust", id, "off", "--reason", "backend lost its login", "--store", Store, "--actor", "cli:ops");
        Assert.True(off.ExitCode == 0, off.Error);
        Assert.Contains("one evidence source", off.Out, StringComparison.Ordinal);
        var listed = await CliRunner.RunAsync("keys", "list", "--store", Store);
        Assert.Contains("one source", listed.Out, StringComparison.Ordinal);

        var noReason = await CliRunner.RunAsync("keys", "trust", id, "on", "--store", Store);
        Assert.NotEqual(0, noReason.ExitCode);
        var badValue = await CliRunner.RunAsync("keys", "trust", id, "maybe", "--reason", "r", "--store", Store);
        Assert.NotEqual(0, badValue.ExitCode);
        Assert.Contains("on' or 'off", badValue.Out + badValue.Error, StringComparison.Ordinal);
        var unknown = await CliRunner.RunAsync("keys", "trust", "k-nobody", "on", "--reason", "r", "--store", Store);
        Assert.NotEqual(0, unknown.ExitCode);

        await using var store = SqliteLoreStore.Open(Store);
        Assert.False((await store.GetApiKeyAsync(id, Ct))!.TrustUnits);
        var audit = new List<AuditEntry>();
        await foreach (var entry in store.ReadTenantAuditAsync("acme", 0, Ct))
        {
            audit.Add(entry);
        }

        Assert.Equal([AuditActions.ApiKeyCreated, AuditActions.ApiKeyTrustChanged], audit.Select(e => e.Action));
        Assert.Contains("\"trustUnits\":true", audit[0].DetailsJson, StringComparison.Ordinal);
        Assert.Equal(("cli:ops", "backend lost its login", id), (audit[1].Actor, audit[1].Reason, audit[1].Subject));
    }

    [Fact]
    public async Task Audit_verify_with_a_tenant_checks_that_tenants_own_chain_and_without_one_checks_every_chain()
    {
        await using (var store = SqliteLoreStore.Open(Store))
        {
            foreach (var tenant in new[] { "acme", "globex", "globex", "acme", "globex" })
            {
                await store.AppendAuditAsync(new AuditDraft { Tenant = tenant, Actor = "cli:ops", Action = AuditActions.Frozen, Subject = "rollout" }, Ct);
            }
        }

        var acme = await CliRunner.RunAsync("audit", "verify", "--tenant", "acme", "--store", Store);
        Assert.True(acme.ExitCode == 0, acme.Error);
        Assert.Matches(@"^verified 2 records of tenant 'acme', head 2:[0-9a-f]{64}", acme.Out);
        var head = acme.Out.Split(", head ")[1].Split('\n')[0].Trim();
        var pinned = await CliRunner.RunAsync("audit", "verify", "--tenant", "acme", "--expect-head", head, "--store", Store);
        Assert.True(pinned.ExitCode == 0, pinned.Error);
        var listed = await CliRunner.RunAsync("audit", "list", "--tenant", "globex", "--store", Store, "--json");
        Assert.Equal([1L, 2L, 3L], JsonSerializer.Deserialize<List<AuditEntry>>(listed.Out, LoreJson.Options)!.Select(e => e.Sequence));

        var all = await CliRunner.RunAsync("audit", "verify", "--store", Store);
        Assert.True(all.ExitCode == 0, all.Error);
        Assert.Contains("verified 5 records", all.Out, StringComparison.Ordinal);
        Assert.Contains("verified the 2 tenant chain(s) against it (acme: 2, globex: 3)", all.Out, StringComparison.Ordinal);

        // A tenant's chain row removed behind the store's back (triggers dropped): the operator's verify names the tenant.
        using (var connection = new SqliteConnection($"Data Source={Store};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TRIGGER audit_tenant_chain_append_only_delete; DELETE FROM audit_tenant_chain WHERE tenant = 'globex' AND tenant_sequence = 3;";
            command.ExecuteNonQuery();
        }

        var broken = await CliRunner.RunAsync("audit", "verify", "--store", Store);
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("tenant 'globex' FAILED", broken.Out, StringComparison.Ordinal);
        Assert.Contains("records 3 to 3 are missing", broken.Out, StringComparison.Ordinal);
        var stillAcme = await CliRunner.RunAsync("audit", "verify", "--tenant", "acme", "--store", Store);
        Assert.Equal(0, stillAcme.ExitCode);
    }
}
