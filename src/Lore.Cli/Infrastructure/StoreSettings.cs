using System.ComponentModel;
using Spectre.Console.Cli;

namespace Lore.Cli.Infrastructure;

/// <summary>Options every command shares: where the store is, which tenant, and whether to print JSON.</summary>
internal class StoreSettings : CommandSettings
{
    [CommandOption("--store <PATH>")]
    [Description("The store: a SQLite file path (default ./lore.db), or a PostgreSQL database as postgres://user:password@host:port/db or an Npgsql connection string (LORE_STORE when not given).")]
    [DefaultValue("lore.db")]
    public string Store { get; init; } = "lore.db";

    [CommandOption("--tenant <NAME>")]
    [Description("The tenant to act on (default 'default').")]
    [DefaultValue(Tenants.Default)]
    public string Tenant { get; init; } = Tenants.Default;

    [CommandOption("--json")]
    [Description("Print machine-readable JSON instead of tables.")]
    public bool Json { get; init; }
}
