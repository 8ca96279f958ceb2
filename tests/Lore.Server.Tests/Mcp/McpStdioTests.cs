using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
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
            // A child 'dotnet lore mcp' can take over a minute to start on a loaded machine: the SDK's default 60 s
            // handshake timeout is a wait on time, not on the condition. Wait for the handshake with a generous deadline.
            return await McpClient.CreateAsync(transport, new McpClientOptions { InitializationTimeout = TimeSpan.FromMinutes(4) }, cancellationToken: Ct);
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

    [Fact]
    public async Task Stdout_carries_only_protocol_messages_while_logs_go_to_stderr()
    {
        // A raw look at the child's two streams: any stray line on stdout would corrupt an agent's protocol stream.
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory!.Path,
        };
        foreach (var argument in new[] { CliAssembly(), "mcp", "--store", StorePath, "--tenant", TenantA })
        {
            start.ArgumentList.Add(argument);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using var process = Process.Start(start)!;
        try
        {
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.StandardInput.WriteLineAsync("""{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "probe", "version": "1"}}}""");
            await process.StandardInput.WriteLineAsync("""{"jsonrpc": "2.0", "method": "notifications/initialized"}""");
            await process.StandardInput.WriteLineAsync("""{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "list_lessons", "arguments": {}}}""");
            await process.StandardInput.FlushAsync(timeout.Token);

            var answered = new HashSet<int>();
            while (answered.Count < 2)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
                Assert.True(line is not null, $"stdout ended before both answers; stderr:\n{string.Join('\n', _stderr)}");
                answered.Add(ProtocolMessage(line).GetProperty("id").GetInt32());
            }

            // Closing stdin ends the session: the process exits cleanly, having written nothing else to stdout.
            process.StandardInput.Close();
            var rest = await process.StandardOutput.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            Assert.All(rest.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), l => ProtocolMessage(l));
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("ModelContextProtocol", await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static JsonElement ProtocolMessage(string line)
    {
        using var document = JsonDocument.Parse(line);
        Assert.Equal("2.0", document.RootElement.GetProperty("jsonrpc").GetString());
        return document.RootElement.Clone();
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
