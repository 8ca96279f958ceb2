using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lore.Testing;
using Spectre.Console;

namespace Lore.Cli.Tests;

public sealed class ServeCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Store => _dir.File("lore.db");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Serve_creates_and_prints_one_admin_key_for_an_empty_store_serves_it_and_stops_on_cancel()
    {
        var first = await ServeAsync(async (baseAddress, output) =>
        {
            var secret = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("lore_", StringComparison.Ordinal));
            using var client = new HttpClient { BaseAddress = baseAddress };
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz", Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/keys", Ct)).StatusCode);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            var keys = await client.GetStringAsync("/api/keys", Ct);
            Assert.Contains("\"role\":\"admin\"", keys, StringComparison.Ordinal);
            Assert.Contains("\"tenant\":\"acme\"", keys, StringComparison.Ordinal);
        }, "--tenant", "acme");

        Assert.Equal(0, first.ExitCode);
        Assert.Contains("The store had no API keys", first.Out, StringComparison.Ordinal);
        Assert.Contains("Stopped.", first.Out, StringComparison.Ordinal);

        var second = await ServeAsync((_, _) => Task.CompletedTask);
        Assert.Equal(0, second.ExitCode);
        Assert.DoesNotContain("lore_", second.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_a_bad_upstream_and_a_missing_upstream_key_variable()
    {
        var badUrl = await CliRunner.RunAsync("serve", "--store", Store, "--upstream", "ftp://models.example");
        var noVariable = await CliRunner.RunAsync("serve", "--store", Store, "--upstream", "simulated", "--upstream-key-env", "LORE_TEST_UNSET_VARIABLE_42");

        Assert.NotEqual(0, badUrl.ExitCode);
        Assert.Contains("--upstream 'ftp://models.example' is not an http(s) URL", badUrl.Error + badUrl.Out, StringComparison.Ordinal);
        Assert.Equal(1, noVariable.ExitCode);
        Assert.Contains("LORE_TEST_UNSET_VARIABLE_42 is not set", noVariable.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("beta,gamma", "other")]
    [InlineData("beta, acme", "acme")]
    public async Task Serve_names_in_telemetry_only_the_tenants_telemetry_tenants_lists(string listed, string expectedTag)
    {
        // A slice no other test uses, so measurements of tests running beside this one are told apart.
        var slice = "telemetry-tenants-" + Guid.NewGuid().ToString("n");
        var tags = new List<string?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Lore" && instrument.Name == "lore.episodes.completed")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, measured, _) =>
        {
            var tagged = measured.ToArray();
            if (tagged.Any(t => t.Key == "lore.slice" && Equals(t.Value, slice)))
            {
                lock (tags)
                {
                    tags.Add(tagged.Single(t => t.Key == "lore.tenant").Value as string);
                }
            }
        });
        listener.Start();

        var run = await ServeAsync(async (baseAddress, output) =>
        {
            var secret = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("lore_", StringComparison.Ordinal));
            using var client = new HttpClient { BaseAddress = baseAddress };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            var body = new StringContent($$$"""{"task": "refund order 1142", "ended": true, "labels": {"slice": "{{{slice}}}"}}""", Encoding.UTF8, "application/json");
            var response = await client.PostAsync("/api/episodes", body, Ct);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }, "--tenant", "acme", "--telemetry-tenants", listed, "--telemetry-tenants", "delta");

        Assert.Equal(0, run.ExitCode);
        lock (tags)
        {
            Assert.Equal([expectedTag], tags);
        }
    }

    [Fact]
    public async Task Serve_refuses_telemetry_tenants_with_an_empty_name_naming_the_value()
    {
        var result = await CliRunner.RunAsync("serve", "--store", Store, "--telemetry-tenants", "acme,,beta");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--telemetry-tenants 'acme,,beta' has an empty tenant name", result.Error + result.Out, StringComparison.Ordinal);
    }

    /// <summary>Runs <c>lore serve</c> on a free port until <paramref name="whileServing"/> is done, then cancels it as Ctrl+C would.</summary>
    private async Task<CliRunner.Result> ServeAsync(Func<Uri, string, Task> whileServing, params string[] extra)
    {
        var output = new SignallingWriter("Listening on ");
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 400;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = LoreCommandLine.RunAsync(["serve", "--store", Store, "--urls", "http://127.0.0.1:0", .. extra], console, error, stop.Token);

        var started = await Task.WhenAny(output.Seen, run).WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.True(started == output.Seen, $"lore serve ended before listening: {error}");
        var line = await output.Seen;
        var address = line[(line.IndexOf("http://", StringComparison.Ordinal))..].Split([' ', ','], 2)[0];
        try
        {
            await whileServing(new Uri(address), output.ToString());
        }
        finally
        {
            await stop.CancelAsync();
        }

        var exit = await run.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        return new CliRunner.Result(exit, output.ToString(), error.ToString());
    }

    /// <summary>A captured stdout that completes <see cref="Seen"/> with the first line containing a marker.</summary>
    private sealed class SignallingWriter(string marker) : StringWriter
    {
        private readonly TaskCompletionSource<string> _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly StringBuilder _line = new();

        public Task<string> Seen => _seen.Task;

        public override void Write(char value)
        {
            base.Write(value);
            if (value == '\n')
            {
                var line = _line.ToString();
                _line.Clear();
                if (line.Contains(marker, StringComparison.Ordinal))
                {
                    _seen.TrySetResult(line);
                }
            }
            else
            {
                _line.Append(value);
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? "")
            {
                Write(c);
            }
        }

        public override void Write(char[] buffer, int index, int count)
        {
            for (var i = index; i < index + count; i++)
            {
                Write(buffer[i]);
            }
        }

        public override void WriteLine(string? value)
        {
            Write(value);
            Write('\n');
        }
    }
}
