using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Lore.Server.Security;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>Options of every keys command: the store, JSON output, and who is recorded in the audit log.</summary>
internal class KeysSettings : CommandSettings
{
    [CommandOption("--store <PATH>")]
    [Description("The store: a SQLite file path (default ./lore.db), or a PostgreSQL database as postgres://user:password@host:port/db or an Npgsql connection string (LORE_STORE when not given).")]
    [DefaultValue("lore.db")]
    public string Store { get; init; } = "lore.db";

    [CommandOption("--json")]
    [Description("Print machine-readable JSON instead of tables.")]
    public bool Json { get; init; }

    [CommandOption("--actor <NAME>")]
    [Description("Who is recorded in the audit log (default: cli:<OS user>).")]
    public string? Actor { get; init; }

    public string ActorName => string.IsNullOrWhiteSpace(Actor) ? $"cli:{Environment.UserName}" : Actor;
}

internal sealed class KeysCreateCommand(IAnsiConsole console) : AsyncCommand<KeysCreateCommand.Settings>
{
    internal sealed class Settings : KeysSettings
    {
        [CommandOption("--tenant <NAME>")]
        [Description("The only tenant the key may read or change (default 'default').")]
        [DefaultValue(Tenants.Default)]
        public string Tenant { get; init; } = Tenants.Default;

        [CommandOption("--role <ROLE>")]
        [Description("agent (record episodes, retrieve, read), reviewer (+ review queue) or admin (+ rollout, learning, keys).")]
        public string? Role { get; init; }

        [CommandOption("--name <NAME>")]
        [Description("What the key is for, for example \"checkout agent\".")]
        public string? Name { get; init; }

        [CommandOption("--trust-units")]
        [Description("Let the key assert units: each unit it names counts as its own evidence source. Only for a backend that authenticates its own end users; without it the key counts as one source whatever units it names.")]
        public bool TrustUnits { get; init; }

        public override ValidationResult Validate()
            => string.IsNullOrWhiteSpace(Role) ? ValidationResult.Error("--role is required: agent, reviewer or admin.")
                : string.IsNullOrWhiteSpace(Name) ? ValidationResult.Error("--name is required: say what the key is for.")
                : string.IsNullOrWhiteSpace(Tenant) ? ValidationResult.Error("--tenant must not be empty.")
                : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ApiKeyRole role;
        try
        {
            role = LorePolicies.ParseRole(settings.Role!);
        }
        catch (FormatException e)
        {
            throw new CliException($"--role: {e.Message}");
        }

        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: false, cancellationToken);
        var issued = await ApiKeys.CreateAsync(store, settings.Tenant, role, settings.Name!, settings.ActorName, TimeProvider.System, settings.TrustUnits, cancellationToken);
        if (settings.Json)
        {
            Output.Json(console, new { key = ApiKeys.View(issued.Key), secret = issued.Secret });
            return 0;
        }

        var writer = console.Profile.Out.Writer;
        writer.WriteLine($"Created API key {issued.Key.Id} ({LorePolicies.RoleName(role)}, tenant {issued.Key.Tenant}, \"{issued.Key.Name}\"{(issued.Key.TrustUnits ? ", trusted to assert units" : "")}).");
        writer.WriteLine("This is the only time the key is shown; Lore keeps only its hash. Give it to the client as 'Authorization: Bearer <key>':");
        writer.WriteLine(issued.Secret);
        writer.Flush();
        return 0;
    }
}

internal sealed class KeysListCommand(IAnsiConsole console) : AsyncCommand<KeysListCommand.Settings>
{
    internal sealed class Settings : KeysSettings
    {
        [CommandOption("--tenant <NAME>")]
        [Description("Only keys of this tenant (default: every tenant).")]
        public string? Tenant { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var keys = (await store.ListApiKeysAsync(settings.Tenant, cancellationToken)).Select(ApiKeys.View).ToArray();
        if (settings.Json)
        {
            Output.Json(console, keys);
            return 0;
        }

        var table = new Table().AddColumns("id", "tenant", "role", "name", "units", "created", "by", "status");
        foreach (var k in keys)
        {
            table.AddRow(
                Markup.Escape(k.Id),
                Markup.Escape(k.Tenant),
                k.Role,
                Markup.Escape(k.Name),
                k.TrustUnits ? "trusted" : "one source",
                Output.Time(k.CreatedAt),
                Markup.Escape(k.CreatedBy),
                k.RevokedAt is { } revoked ? $"[red]revoked[/] {Output.Time(revoked)}" : "[green]active[/]");
        }

        console.Write(table);
        console.MarkupLineInterpolated($"{keys.Length} API keys{(settings.Tenant is null ? "" : $" of tenant {settings.Tenant}")}. Secrets are never stored or shown again.");
        return 0;
    }
}

internal sealed class KeysRevokeCommand(IAnsiConsole console) : AsyncCommand<KeysRevokeCommand.Settings>
{
    internal sealed class Settings : KeysSettings
    {
        [CommandArgument(0, "<ID>")]
        [Description("The key id (see 'lore keys list'), for example k1a2b3c4d5e6.")]
        public string Id { get; init; } = "";

        [CommandOption("--reason <TEXT>")]
        [Description("Why; required, recorded in the audit log.")]
        public string? Reason { get; init; }

        public override ValidationResult Validate()
            => string.IsNullOrWhiteSpace(Reason) ? ValidationResult.Error("--reason is required: the audit log records why the key was revoked.") : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var key = await ApiKeys.RevokeAsync(store, settings.Id, tenant: null, settings.ActorName, settings.Reason!, TimeProvider.System, cancellationToken)
            ?? throw new CliException($"no API key '{settings.Id}' (see 'lore keys list').");
        if (settings.Json)
        {
            Output.Json(console, ApiKeys.View(key));
            return 0;
        }

        console.MarkupLineInterpolated($"Revoked API key {key.Id} ({LorePolicies.RoleName(key.Role)}, tenant {key.Tenant}) at {Output.Time(key.RevokedAt!.Value)}; it never authenticates again.");
        return 0;
    }
}

/// <summary>
/// <c>lore keys trust ID on|off</c>: an admin's decision whether a key may assert units. A backend that authenticates
/// its own end users may ("on": each unit it names is its own evidence source); any other key counts as one source
/// whatever units it names ("off", the default). Audited with the reason.
/// </summary>
internal sealed class KeysTrustCommand(IAnsiConsole console) : AsyncCommand<KeysTrustCommand.Settings>
{
    internal sealed class Settings : KeysSettings
    {
        [CommandArgument(0, "<ID>")]
        [Description("The key id (see 'lore keys list'), for example k1a2b3c4d5e6.")]
        public string Id { get; init; } = "";

        [CommandArgument(1, "<on|off>")]
        [Description("on: the key may assert units; off: the key counts as one source whatever units it names.")]
        public string Trust { get; init; } = "";

        [CommandOption("--reason <TEXT>")]
        [Description("Why; required, recorded in the audit log.")]
        public string? Reason { get; init; }

        public override ValidationResult Validate()
            => Trust.Trim().ToLowerInvariant() is not ("on" or "off") ? ValidationResult.Error($"the trust must be 'on' or 'off', not '{Trust}'.")
                : string.IsNullOrWhiteSpace(Reason) ? ValidationResult.Error("--reason is required: the audit log records why the key's trust changed.")
                : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var trust = settings.Trust.Trim().Equals("on", StringComparison.OrdinalIgnoreCase);
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var key = await ApiKeys.SetTrustAsync(store, settings.Id, tenant: null, trust, settings.ActorName, settings.Reason!, TimeProvider.System, cancellationToken)
            ?? throw new CliException($"no API key '{settings.Id}' (see 'lore keys list').");
        if (settings.Json)
        {
            Output.Json(console, ApiKeys.View(key));
            return 0;
        }

        if (trust)
        {
            console.MarkupLineInterpolated($"API key {key.Id} (tenant {key.Tenant}) may now assert units: each unit it names counts as its own evidence source.");
        }
        else
        {
            console.MarkupLineInterpolated($"API key {key.Id} (tenant {key.Tenant}) now counts as one evidence source, whatever units it names.");
        }

        return 0;
    }
}
