using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
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

    [Fact]
    public async Task An_outcome_recorded_through_the_REST_API_gets_the_failure_mode_the_configured_classifier_endpoint_names()
    {
        await using var model = await FakeChatCompletions.StartAsync(FakeChatCompletions.Behaviour.Answer, "Wrong desk for ticket 4411.");
        Environment.SetEnvironmentVariable("LORE_TEST_CLASSIFIER_KEY_ANSWER", "sk-test-classifier-secret");
        string? episodeId = null;
        var run = await ServeAsync(async (baseAddress, output) =>
        {
            var (id, judged) = await RecordFailedEpisodeAsync(baseAddress, output);
            episodeId = id;
            Assert.Equal("label: wrong desk for ticket <num>", judged.GetProperty("failureMode").GetString());
        }, "--failure-classifier-endpoint", model.BaseAddress.ToString(), "--failure-classifier-model", "judge-1", "--failure-classifier-key-env", "LORE_TEST_CLASSIFIER_KEY_ANSWER");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"Failure modes named by model judge-1 at {model.BaseAddress}", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-test-classifier-secret", run.Out + run.Error, StringComparison.Ordinal);
        var (authorization, body) = Assert.Single(model.Requests);
        Assert.Equal("Bearer sk-test-classifier-secret", authorization);
        Assert.Equal("judge-1", body.GetProperty("model").GetString());
        Assert.Contains("refund order 4411", body.GetProperty("messages").ToString(), StringComparison.Ordinal);

        // Stored with the outcome: every offline view reads this mode, not the category's built-in one.
        await using var store = Lore.Sqlite.SqliteLoreStore.Open(Store);
        var stored = await store.GetEpisodeAsync(Tenants.Default, episodeId!, Ct);
        Assert.Equal("label: wrong desk for ticket <num>", FailureModes.Of(stored!));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_classifier_endpoint_that_fails_or_hangs_leaves_the_built_in_failure_signature(bool hang)
    {
        await using var model = await FakeChatCompletions.StartAsync(hang ? FakeChatCompletions.Behaviour.Hang : FakeChatCompletions.Behaviour.Fail);
        string? episodeId = null;
        var run = await ServeAsync(async (baseAddress, output) =>
        {
            var (id, judged) = await RecordFailedEpisodeAsync(baseAddress, output);
            episodeId = id;
            Assert.False(judged.TryGetProperty("failureMode", out _), judged.ToString());
        }, "--failure-classifier-endpoint", model.BaseAddress.ToString(), "--failure-classifier-model", "judge-1", "--failure-classifier-timeout", "1");

        Assert.Equal(0, run.ExitCode);
        Assert.NotEmpty(model.Requests);
        await using var store = Lore.Sqlite.SqliteLoreStore.Open(Store);
        var stored = await store.GetEpisodeAsync(Tenants.Default, episodeId!, Ct);
        Assert.Equal("category: order not found", FailureModes.Of(stored!));
    }

    [Theory]
    [InlineData("ftp://models.example/v1", "judge-1", null, "--failure-classifier-endpoint 'ftp://models.example/v1' is not an http(s) URL")]
    [InlineData("models.example", "judge-1", null, "--failure-classifier-endpoint 'models.example' is not an http(s) URL")]
    [InlineData("http://127.0.0.1:9/v1/", null, null, "--failure-classifier-endpoint needs --failure-classifier-model")]
    [InlineData(null, "judge-1", null, "need --failure-classifier-endpoint")]
    [InlineData("http://127.0.0.1:9/v1/", "judge-1", "0.01", "--failure-classifier-timeout must lie between 0.1 and 300 seconds (got 0.01)")]
    public async Task Serve_refuses_bad_failure_classifier_options_naming_the_option(string? endpoint, string? model, string? timeout, string expected)
    {
        string[] args =
        [
            "serve", "--store", Store,
            .. endpoint is null ? [] : new[] { "--failure-classifier-endpoint", endpoint },
            .. model is null ? [] : new[] { "--failure-classifier-model", model },
            .. timeout is null ? [] : new[] { "--failure-classifier-timeout", timeout },
        ];
        var result = await CliRunner.RunAsync(args);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(expected, result.Error + result.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(Store), "nothing is created before the options are checked");
    }

    [Fact]
    public async Task Serve_refuses_a_classifier_key_variable_that_is_not_set()
    {
        var result = await CliRunner.RunAsync("serve", "--store", Store, "--failure-classifier-endpoint", "http://127.0.0.1:9/v1/", "--failure-classifier-model", "judge-1", "--failure-classifier-key-env", "LORE_TEST_UNSET_CLASSIFIER_KEY_42");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--failure-classifier-key-env: the environment variable LORE_TEST_UNSET_CLASSIFIER_KEY_42 is not set", result.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// Through the REST API with the printed admin key: starts an episode for "refund order 4411", then records a failed
    /// outcome with the category "order_not_found"; returns the episode id and the outcome as the 201 shows it.
    /// </summary>
    private static async Task<(string Id, JsonElement Outcome)> RecordFailedEpisodeAsync(Uri baseAddress, string output)
    {
        var secret = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("lore_", StringComparison.Ordinal));
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var started = await client.PostAsync("/api/episodes", Json("""{"task":"refund order 4411","unit":"customer-7"}"""), Ct);
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var id = JsonDocument.Parse(await started.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("id").GetString()!;

        using var judged = await client.PostAsync($"/api/episodes/{id}/outcomes", Json("""{"score":0,"category":"order_not_found","comment":"the order was not found"}"""), Ct);
        var body = await judged.Content.ReadAsStringAsync(Ct);
        Assert.True(judged.StatusCode == HttpStatusCode.Created, body);
        return (id, JsonDocument.Parse(body).RootElement.GetProperty("outcomes")[0].Clone());
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

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
