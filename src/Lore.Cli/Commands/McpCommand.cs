using Lore.Cli.Infrastructure;
using Lore.Server.Mcp;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>
/// <c>lore mcp</c>: serves Lore's MCP tools and resources over stdio to the coding agent that launched it, acting as an
/// agent of <c>--tenant</c> on the store directly. Nothing but the protocol is written to stdout; logs go to stderr.
/// </summary>
internal sealed class McpCommand : AsyncCommand<StoreSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, StoreSettings settings, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(settings.Tenant))
        {
            throw new CliException("--tenant is empty: name the tenant the agent works for.");
        }

        // A new agent may start before anything was recorded: the store is created when absent.
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: false, cancellationToken);
        await LoreMcpStdio.RunAsync(store, settings.Tenant.Trim(), $"local:{Environment.UserName}", configureRuntime: null, cancellationToken);
        return 0;
    }
}
