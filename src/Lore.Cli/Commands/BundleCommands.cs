using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Lore.Learning;
using Lore.Learning.Bundles;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

internal sealed class SnapshotsExportCommand(IAnsiConsole console) : AsyncCommand<SnapshotsExportCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<ID>")]
        [Description("The snapshot to export ('stable' for the tenant's stable one).")]
        public string Id { get; init; } = "";

        [CommandOption("--out <FILE>")]
        [Description("Where to write the bundle; an existing file is not overwritten.")]
        public string? Out { get; init; }

        [CommandOption("--sign-key <FILE>")]
        [Description("Sign the bundle: a PEM ECDSA P-256 private key, or a file holding an HMAC secret of at least 32 bytes.")]
        public string? SignKey { get; init; }

        [CommandOption("--actor <NAME>")]
        [Description("Who exports (default: cli:<OS user>); audited.")]
        public string? Actor { get; init; }

        public override ValidationResult Validate()
            => string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out is required: the bundle file to write.") : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (File.Exists(settings.Out))
        {
            throw new CliException($"'{settings.Out}' exists; choose another --out (a bundle is never overwritten).");
        }

        using var key = settings.SignKey is null ? null : BundleKeys.Load(settings.SignKey);
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var id = settings.Id == "stable"
            ? await store.GetActiveSnapshotIdAsync(settings.Tenant, cancellationToken) ?? throw new CliException($"tenant '{settings.Tenant}' has no stable snapshot.")
            : settings.Id;
        var actor = string.IsNullOrWhiteSpace(settings.Actor) ? $"cli:{Environment.UserName}" : settings.Actor;
        var temporary = settings.Out + ".partial";
        BundleExport export;
        try
        {
            await using (var output = File.Create(temporary))
            {
                export = await SnapshotBundles.ExportAsync(new LearningPipeline(store, new LearningOptions()), settings.Tenant, id, output, actor, key, cancellationToken);
            }

            File.Move(temporary, settings.Out!);
        }
        catch (KeyNotFoundException e)
        {
            throw new CliException(e.Message);
        }
        finally
        {
            File.Delete(temporary);
        }

        if (settings.Json)
        {
            Output.Json(console, export);
            return 0;
        }

        console.MarkupLineInterpolated($"Exported [green]{export.SourceSnapshotId}[/] to {settings.Out}: {export.Lessons} lessons, content address {export.ContentAddress}, {export.AuditEntries} audit entries, {(export.KeyId is null ? "unsigned" : $"signed with {export.KeyId}")}.");
        if (export.Withheld.Count > 0)
        {
            console.MarkupLineInterpolated($"Withheld {export.Withheld.Count} lessons scoped to one unit (personal data stays in its store): {string.Join(", ", export.Withheld)}");
        }

        return 0;
    }
}

internal sealed class SnapshotsImportCommand(IAnsiConsole console) : AsyncCommand<SnapshotsImportCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<BUNDLE>")]
        [Description("The bundle file written by 'lore snapshots export'.")]
        public string Bundle { get; init; } = "";

        [CommandOption("--verify-key <FILE>")]
        [Description("The key the bundle must be signed with: a PEM ECDSA public (or private) key, or the HMAC secret file.")]
        public string? VerifyKey { get; init; }

        [CommandOption("--allow-unsigned")]
        [Description("Accept a bundle without a signature (its content address is still verified).")]
        public bool AllowUnsigned { get; init; }

        [CommandOption("--reason <TEXT>")]
        [Description("Why; required and audited.")]
        public string? Reason { get; init; }

        [CommandOption("--actor <NAME>")]
        [Description("Who imports (default: cli:<OS user>).")]
        public string? Actor { get; init; }

        [CommandOption("--entry <STAGE>")]
        [Description("Where the imported snapshot enters the rollout: canary (default), shadow, or now (served at once).")]
        public string Entry { get; init; } = "canary";

        [CommandOption("--share <SHARE>")]
        [Description("With --entry canary: the share of units that get it (default 0.1).")]
        public double Share { get; init; } = 0.1;

        public override ValidationResult Validate()
            => string.IsNullOrWhiteSpace(Reason) ? ValidationResult.Error("--reason is required: say why this state is imported.")
                : Entry is not ("now" or "shadow" or "canary") ? ValidationResult.Error($"--entry '{Entry}' is not one of: canary, shadow, now.")
                : Share is <= 0 or > 1 ? ValidationResult.Error("--share must lie in (0, 1].")
                : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!File.Exists(settings.Bundle))
        {
            throw new CliException($"no bundle file '{settings.Bundle}'.");
        }

        using var key = settings.VerifyKey is null ? null : BundleKeys.Load(settings.VerifyKey);
        var bytes = await File.ReadAllBytesAsync(settings.Bundle, cancellationToken);
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: false, cancellationToken);
        var options = new BundleImportOptions(string.IsNullOrWhiteSpace(settings.Actor) ? $"cli:{Environment.UserName}" : settings.Actor, ApiKeyRole.Admin, settings.Reason!)
        {
            Key = key,
            AllowUnsigned = settings.AllowUnsigned,
            Entry = new RolloutPolicy
            {
                EntryStage = settings.Entry switch { "shadow" => RolloutStage.Shadow, "now" => RolloutStage.None, _ => RolloutStage.Canary },
                CanaryShare = settings.Share,
            },
        };
        BundleImport imported;
        try
        {
            imported = await SnapshotBundles.ImportAsync(new LearningPipeline(store, new LearningOptions()), settings.Tenant, bytes, options, cancellationToken);
        }
        catch (BundleRefusedException e)
        {
            throw new CliException($"bundle refused ({e.Check}): {e.Message}");
        }

        if (settings.Json)
        {
            Output.Json(console, imported);
            return 0;
        }

        console.MarkupLineInterpolated($"Verified bundle {imported.ContentAddress} (snapshot {imported.SourceSnapshotId} of tenant '{imported.SourceTenant}', {(imported.KeyId is null ? "unsigned" : $"signature by {imported.KeyId} valid")}).");
        console.MarkupLineInterpolated($"Imported as [green]{imported.SnapshotId}[/] with {imported.LessonIds.Count} lessons: {imported.Where}.");
        return 0;
    }
}

/// <summary>Loads a bundle key file, turning a bad file into the one line a user reads.</summary>
internal static class BundleKeys
{
    public static BundleKey Load(string path)
    {
        try
        {
            return BundleKey.Load(path);
        }
        catch (Exception e) when (e is FileNotFoundException or FormatException)
        {
            throw new CliException(e.Message);
        }
    }
}
