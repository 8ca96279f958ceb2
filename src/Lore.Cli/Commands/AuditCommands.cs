using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>Options of the audit commands: the audit log is one chain for every tenant, so the tenant is a filter, not a default.</summary>
internal class AuditSettings : CommandSettings
{
    [CommandOption("--store <PATH>")]
    [Description("The store: a SQLite file path (default ./lore.db), or a PostgreSQL database as postgres://user:password@host:port/db or an Npgsql connection string (LORE_STORE when not given).")]
    [DefaultValue("lore.db")]
    public string Store { get; init; } = "lore.db";

    [CommandOption("--json")]
    [Description("Print machine-readable JSON instead of tables.")]
    public bool Json { get; init; }
}

internal sealed class AuditListCommand(IAnsiConsole console) : AsyncCommand<AuditListCommand.Settings>
{
    internal sealed class Settings : AuditSettings
    {
        [CommandOption("--tenant <NAME>")]
        [Description("Only entries of this tenant, numbered by its own chain 1, 2, 3... (default: every tenant, numbered by the global chain).")]
        public string? Tenant { get; init; }

        [CommandOption("--about <ID>")]
        [Description("Only entries about this lesson, snapshot or other id (subject, reason or details).")]
        public string? About { get; init; }

        [CommandOption("--action <ACTION>")]
        [Description("Only entries with this action (for example lesson.retired, snapshot.rolled-back).")]
        public string? Action { get; init; }

        [CommandOption("--last <N>")]
        [Description("Only the last N matching entries.")]
        public int? Last { get; init; }

        public override ValidationResult Validate()
            => Last is < 1 ? ValidationResult.Error("--last must be at least 1.") : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var entries = new List<AuditEntry>();
        var read = settings.Tenant is { } tenant ? store.ReadTenantAuditAsync(tenant, 0, cancellationToken) : store.ReadAuditAsync(0, cancellationToken);
        await foreach (var entry in read)
        {
            if ((settings.Tenant is null || entry.Tenant == settings.Tenant)
                && (settings.Action is null || entry.Action == settings.Action)
                && (settings.About is null || AuditTrail.Mentions(entry, settings.About)))
            {
                entries.Add(entry);
            }
        }

        if (settings.Last is { } last && entries.Count > last)
        {
            entries.RemoveRange(0, entries.Count - last);
        }

        if (settings.Json)
        {
            Output.Json(console, entries);
            return 0;
        }

        var table = new Table().AddColumns("#", "at", "tenant", "actor", "action", "subject", "reason");
        foreach (var e in entries)
        {
            table.AddRow(
                e.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Output.Time(e.At),
                Markup.Escape(e.Tenant),
                Markup.Escape(e.Actor),
                Markup.Escape(e.Action),
                Markup.Escape(Output.Shorten(e.Subject, 40)),
                Markup.Escape(Output.Shorten(e.Reason, 80)));
        }

        console.Write(table);
        console.MarkupLineInterpolated($"{entries.Count} audit entries{(settings.Tenant is null ? "" : $" of tenant {settings.Tenant}")}. Verify the chain with 'lore audit verify'.");
        return 0;
    }
}

internal sealed class AuditVerifyCommand(IAnsiConsole console) : AsyncCommand<AuditVerifyCommand.Settings>
{
    internal sealed class Settings : AuditSettings
    {
        [CommandOption("--expect-head <HEAD>")]
        [Description("The head printed by an earlier verify (SEQUENCE:HASH), kept outside the store: also catches a removed tail or a rewritten log.")]
        public string? ExpectHead { get; init; }

        [CommandOption("--tenant <NAME>")]
        [Description("Verify only this tenant's own chain (its entries numbered 1, 2, 3...; --expect-head then names a head of that chain). Default: the global chain and every tenant's chain.")]
        public string? Tenant { get; init; }

        public override ValidationResult Validate()
            => Tenant is not null && string.IsNullOrWhiteSpace(Tenant) ? ValidationResult.Error("--tenant must not be blank.") : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        AuditHead? expected = null;
        if (settings.ExpectHead is not null)
        {
            try
            {
                expected = AuditHead.Parse(settings.ExpectHead);
            }
            catch (FormatException e)
            {
                throw new CliException($"--expect-head: {e.Message}");
            }
        }

        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var tenant = settings.Tenant?.Trim();
        var result = tenant is null
            ? await AuditVerifier.VerifyAsync(store, expected, cancellationToken)
            : await AuditVerifier.VerifyTenantAsync(store, tenant, expected, cancellationToken);

        // Without --tenant the operator also checks every tenant's own chain against the global one.
        var tenants = tenant is null ? await AuditVerifier.VerifyTenantsAsync(store, cancellationToken) : [];
        var broken = tenants.Where(t => !t.Result.IsIntact).ToList();
        var snapshots = await SnapshotVerifier.VerifyAsync(store, tenant is null ? null : [tenant], cancellationToken);
        var intact = result.IsIntact && broken.Count == 0 && snapshots.IsIntact;
        if (settings.Json)
        {
            Output.Json(console, new
            {
                intact,
                tenant,
                records = result.Records,
                head = result.Head.ToString(),
                fault = result.Fault,
                tenants = tenants.Select(t => new { tenant = t.Tenant, intact = t.Result.IsIntact, records = t.Result.Records, head = t.Result.Head.ToString(), fault = t.Result.Fault }),
                snapshots = new { intact = snapshots.IsIntact, verified = snapshots.Snapshots, tenants = snapshots.Tenants, faults = snapshots.Faults },
            });
            return intact ? 0 : 1;
        }

        var writer = console.Profile.Out.Writer;
        var what = tenant is null ? "audit log" : $"audit log of tenant '{tenant}'";
        foreach (var bad in snapshots.Faults)
        {
            writer.WriteLine($"snapshot {bad.SnapshotId} of tenant '{bad.Tenant}' FAILED verification{(bad.Served ? " (served)" : "")}: {bad.Problem}");
        }

        if (result.Fault is { } fault)
        {
            writer.WriteLine($"{what} FAILED verification at record {fault.Sequence} ({KindName(fault.Kind)}): {fault.Description}");
            writer.WriteLine($"read {result.Records} records, head {result.Head}");
            writer.Flush();
            return 1;
        }

        foreach (var (name, verification) in broken.Select(b => (b.Tenant, b.Result)))
        {
            writer.WriteLine($"audit chain of tenant '{name}' FAILED verification at its record {verification.Fault!.Sequence} ({KindName(verification.Fault.Kind)}): {verification.Fault.Description}");
        }

        if (broken.Count > 0)
        {
            writer.WriteLine($"the global chain verified ({result.Records} records, head {result.Head}), but {broken.Count} of {tenants.Count} tenant chains did not");
            writer.Flush();
            return 1;
        }

        if (!snapshots.IsIntact)
        {
            writer.WriteLine($"verified {result.Records} audit records (head {result.Head}), but {snapshots.Faults.Count} of {snapshots.Snapshots} snapshots or served pointers did not verify");
            writer.Flush();
            return 1;
        }

        writer.WriteLine(tenant is null
            ? $"verified {result.Records} records, head {result.Head}"
            : $"verified {result.Records} records of tenant '{tenant}', head {result.Head}");
        if (tenants.Count > 0)
        {
            writer.WriteLine($"verified the {tenants.Count} tenant chain(s) against it ({string.Join(", ", tenants.Select(t => $"{t.Tenant}: {t.Result.Records}"))})");
        }

        writer.WriteLine($"verified {snapshots.Snapshots} snapshots of {snapshots.Tenants.Count} tenant(s) against their content addresses, and every served pointer");

        writer.WriteLine(expected is null
            ? "Keep the head outside the store and pass it as --expect-head next time to also catch a removed tail or a rewritten log."
            : $"The pinned head {expected.Sequence}:{expected.Hash[..12]}… matches.");
        writer.Flush();
        return 0;
    }

    private static string KindName(AuditFaultKind kind) => kind.ToString().ToLowerInvariant();
}
