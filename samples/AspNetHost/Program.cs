// Lore's server (REST API, OpenAI-compatible proxy, OTLP receiver, MCP and dashboard) inside an ASP.NET Core app
// you already run, next to its own endpoints. The proxy forwards to a real model endpoint when LORE_UPSTREAM is set
// (for example https://api.openai.com/v1/, key in OPENAI_API_KEY); without it the proxy is off and the rest works.
// `dotnet run -- --smoke` starts on a free port, checks both the app's endpoint and Lore's, and exits (CI runs that).
using Lore;
using Lore.Server;
using Lore.Sqlite;

var smoke = args.Contains("--smoke");
var builder = WebApplication.CreateBuilder(args.Where(a => a != "--smoke").ToArray());
var path = Path.Combine(builder.Environment.ContentRootPath, "lore.db");
if (smoke)
{
    builder.WebHost.UseUrls("http://127.0.0.1:0");
    builder.Logging.SetMinimumLevel(LogLevel.Warning);
    path = Path.Combine(Path.GetTempPath(), $"lore-aspnet-{Environment.ProcessId}.db");
}

builder.Services.AddSingleton<ILoreStore>(_ => SqliteLoreStore.Open(path));
builder.Services.AddLoreServer(options =>
{
    options.UpstreamBaseUrl = Environment.GetEnvironmentVariable("LORE_UPSTREAM") is { Length: > 0 } upstream ? new Uri(upstream) : null;
    options.UpstreamApiKey = Environment.GetEnvironmentVariable("OPENAI_API_KEY");
});

var app = builder.Build();
app.MapGet("/", () => "Your app's own endpoint. Lore: /api, /v1/chat/completions, /v1/traces, /mcp, /dashboard.");
app.MapLore();

if (!smoke)
{
    app.Run();
    return 0;
}

await app.StartAsync();
var address = app.Urls.First();
using var http = new HttpClient { BaseAddress = new Uri(address) };
var own = await http.GetAsync("/");
var health = await http.GetAsync("/healthz");
var api = await http.GetAsync("/api/episodes");
Console.WriteLine($"app: {(int)own.StatusCode}, lore /healthz: {(int)health.StatusCode}, lore /api without a key: {(int)api.StatusCode}");
await app.StopAsync();
return own.IsSuccessStatusCode && health.IsSuccessStatusCode && api.StatusCode == System.Net.HttpStatusCode.Unauthorized ? 0 : 1;
