using System.Collections.Concurrent;
using Lore.Sqlite;
using Lore.Testing;
using ModelContextProtocol.Client;
using Xunit;

namespace Lore.Server.Tests.Mcp;

/// <summary>
/// <c>lore mcp</c>: the built CLI launched as a child process (<c>dotnet Lore.Cli.dll mcp --store PATH --tenant T</c>),
/// spoken to over its stdin and stdout by the real MCP client, on a SQLite store this test also opens.
/// </summary>
public sealed class McpStdioTests : McpToolsContract
{
    private readonly ConcurrentQueue<string> _stderr = new();
    private TempDirectory? _directory;
    private SqliteLoreStore? _store;

    protected override ILoreStore Store => _store ?? throw new InvalidOperationException("not started");

    private string StorePath => Path.Combine(_directory!.Path, "lore.db");

    public override async ValueTask InitializeAsync()
    {
        _directory = new TempDirectory();
        _store = await SqliteLoreStore.OpenAsync(StorePath, Ct);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        _directory?.Dispose();
    }

    protected override async Task<McpClient> ConnectAsync(string tenant)
    {
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = $"lore-mcp-{tenant}",
            Command = DotnetHost(),
            Arguments = [CliAssembly(), "mcp", "--store", StorePath, "--tenant", tenant],
            WorkingDirectory = _directory!.Path,
            StandardErrorLines = _stderr.Enqueue,
        });
        try
        {
            return await McpClient.CreateAsync(transport, cancellationToken: Ct);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"lore mcp did not start; its stderr:\n{string.Join('\n', _stderr)}", ex);
        }
    }

    [Fact]
    public async Task The_server_names_itself_and_tells_the_agent_when_to_call_the_tools()
    {
        await using var client = await ConnectAsync(TenantA);

        Assert.Equal("lore", client.ServerInfo?.Name);
        Assert.Contains("get_guidelines", client.ServerInstructions);
        Assert.Contains("record_trajectory", client.ServerInstructions);
    }

    /// <summary>The dotnet host running these tests (set by <c>dotnet test</c>), else the one on PATH.</summary>
    private static string DotnetHost() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>
    /// Lore.Cli.dll of the same configuration and framework as this test assembly: the test project references the CLI
    /// project (without its assembly), so building the tests builds it first.
    /// </summary>
    private static string CliAssembly()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = output.Name;
        var configuration = output.Parent!.Name;
        var root = output;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Lore.slnx")))
        {
            root = root.Parent;
        }

        Assert.True(root is not null, $"no Lore.slnx above {output.FullName}");
        var cli = Path.Combine(root.FullName, "src", "Lore.Cli", "bin", configuration, framework, "Lore.Cli.dll");
        Assert.True(File.Exists(cli), $"{cli} is missing: build tests/Lore.Server.Tests (it builds src/Lore.Cli first).");
        return cli;
    }
}
