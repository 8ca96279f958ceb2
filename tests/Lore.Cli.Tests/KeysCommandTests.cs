using System.Text.Json;
using Lore.Sqlite;
using Lore.Testing;

namespace Lore.Cli.Tests;

public sealed class KeysCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Store => _dir.File("lore.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Keys_create_prints_the_key_once_stores_only_its_hash_and_audits_the_cli_actor()
    {
        var created = await CliRunner.RunAsync("keys", "create", "--tenant", "acme", "--role", "reviewer", "--name", "alice", "--store", Store, "--actor", "cli:ops");

        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Contains("only time the key is shown", created.Out, StringComparison.Ordinal);
        var secret = created.Out.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("lore_", StringComparison.Ordinal));
        var id = secret.Split('_')[1];
        await using var store = SqliteLoreStore.Open(Store);
        var key = await store.GetApiKeyAsync(id, Ct);
        Assert.NotNull(key);
        Assert.Equal(("acme", ApiKeyRole.Reviewer, "alice"), (key.Tenant, key.Role, key.Name));
        Assert.True(key.Matches(secret.Split('_', 3)[2]));
        Assert.NotEqual(secret.Split('_', 3)[2], key.SecretHash);
        var audit = new List<AuditEntry>();
        await foreach (var entry in store.ReadAuditAsync(0, Ct))
        {
            audit.Add(entry);
        }

        var record = Assert.Single(audit);
        Assert.Equal((AuditActions.ApiKeyCreated, id, "cli:ops", "acme"), (record.Action, record.Subject, record.Actor, record.Tenant));
        Assert.DoesNotContain(secret.Split('_', 3)[2], record.DetailsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_list_shows_keys_without_secrets_and_revoke_refuses_them_from_then_on()
    {
        var created = await CliRunner.RunAsync("keys", "create", "--tenant", "acme", "--role", "agent", "--name", "checkout", "--store", Store, "--json");
        Assert.True(created.ExitCode == 0, created.Error);
        using var json = JsonDocument.Parse(created.Out);
        var id = json.RootElement.GetProperty("key").GetProperty("id").GetString()!;
        var secret = json.RootElement.GetProperty("secret").GetString()!;

        var listed = await CliRunner.RunAsync("keys", "list", "--store", Store);
        var revoked = await CliRunner.RunAsync("keys", "revoke", id, "--reason", "laptop lost", "--store", Store);
        var listedJson = await CliRunner.RunAsync("keys", "list", "--store", Store, "--tenant", "acme", "--json");

        Assert.Contains(id, listed.Out, StringComparison.Ordinal);
        Assert.Contains("active", listed.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(secret.Split('_', 3)[2], listed.Out, StringComparison.Ordinal);
        Assert.True(revoked.ExitCode == 0, revoked.Error);
        Assert.Contains("never authenticates again", revoked.Out, StringComparison.Ordinal);
        using var list = JsonDocument.Parse(listedJson.Out);
        Assert.NotEqual(JsonValueKind.Null, list.RootElement[0].GetProperty("revokedAt").ValueKind);
        Assert.DoesNotContain("secretHash", listedJson.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_commands_refuse_bad_input_with_one_line()
    {
        await CliRunner.RunAsync("keys", "create", "--tenant", "acme", "--role", "agent", "--name", "n", "--store", Store);

        var badRole = await CliRunner.RunAsync("keys", "create", "--role", "owner", "--name", "n", "--store", Store);
        var noReason = await CliRunner.RunAsync("keys", "revoke", "k123", "--store", Store);
        var unknown = await CliRunner.RunAsync("keys", "revoke", "k-missing", "--reason", "r", "--store", Store);

        Assert.Equal(1, badRole.ExitCode);
        Assert.Contains("unknown role 'owner'", badRole.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, noReason.ExitCode);
        Assert.Contains("--reason is required", noReason.Error + noReason.Out, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("lore: error: no API key 'k-missing' (see 'lore keys list').", unknown.Error.Trim());
    }
}
