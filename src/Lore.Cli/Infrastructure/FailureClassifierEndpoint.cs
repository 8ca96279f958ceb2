using System.ClientModel;
using System.Globalization;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Lore.Cli.Infrastructure;

/// <summary>
/// A <see cref="ChatFailureClassifier"/> over any OpenAI-compatible chat-completions endpoint, as <c>lore serve</c>
/// configures it from its options: the endpoint's base URL, the model, the API key read from an environment variable
/// (never from the command line, where it would land in shell history and process listings) and a timeout per episode.
/// </summary>
internal sealed class FailureClassifierEndpoint
{
    /// <summary>The shortest and longest timeout accepted (the bounds <see cref="LoreOptions.FailureClassifierTimeout"/> checks).</summary>
    public const double MinTimeoutSeconds = 0.1, MaxTimeoutSeconds = 300;

    private FailureClassifierEndpoint(Uri endpoint, string model, string? apiKey, TimeSpan timeout)
    {
        Endpoint = endpoint;
        Model = model;
        ApiKey = apiKey;
        Timeout = timeout;
    }

    /// <summary>The endpoint's base URL (the part before <c>chat/completions</c>).</summary>
    public Uri Endpoint { get; }

    /// <summary>The model asked to name failures.</summary>
    public string Model { get; }

    /// <summary>How long one episode's classification may take before the built-in signature is used.</summary>
    public TimeSpan Timeout { get; }

    private string? ApiKey { get; }

    /// <summary>
    /// Checks the options as given on the command line; returns the first problem, naming the option, or null. Nothing
    /// given is fine (no classifier); a model, key variable or timeout without an endpoint is refused.
    /// </summary>
    public static string? Check(string? endpoint, string? model, string? keyEnv, double? timeoutSeconds)
    {
        if (endpoint is null)
        {
            return model is not null || keyEnv is not null || timeoutSeconds is not null
                ? "--failure-classifier-model, --failure-classifier-key-env and --failure-classifier-timeout need --failure-classifier-endpoint."
                : null;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
        {
            return $"--failure-classifier-endpoint '{endpoint}' is not an http(s) URL (for example https://api.openai.com/v1/).";
        }

        if (string.IsNullOrWhiteSpace(model))
        {
            return "--failure-classifier-endpoint needs --failure-classifier-model: the model that names the failures.";
        }

        if (keyEnv is not null && string.IsNullOrWhiteSpace(keyEnv))
        {
            return "--failure-classifier-key-env is empty: name the environment variable that holds the endpoint's API key.";
        }

        if (timeoutSeconds is { } seconds && (double.IsNaN(seconds) || seconds < MinTimeoutSeconds || seconds > MaxTimeoutSeconds))
        {
            return string.Create(CultureInfo.InvariantCulture, $"--failure-classifier-timeout must lie between {MinTimeoutSeconds} and {MaxTimeoutSeconds} seconds (got {seconds}).");
        }

        return null;
    }

    /// <summary>
    /// The endpoint the options name, or null when no endpoint was given; the key is read from its variable now, and a
    /// variable that is not set is refused (a classifier that can only fail would silently keep the built-in signature).
    /// </summary>
    public static FailureClassifierEndpoint? FromOptions(string? endpoint, string? model, string? keyEnv, double? timeoutSeconds)
    {
        if (Check(endpoint, model, keyEnv, timeoutSeconds) is { } problem)
        {
            throw new CliException(problem);
        }

        if (endpoint is null)
        {
            return null;
        }

        string? key = null;
        if (keyEnv is not null)
        {
            key = Environment.GetEnvironmentVariable(keyEnv.Trim());
            if (string.IsNullOrEmpty(key))
            {
                throw new CliException($"--failure-classifier-key-env: the environment variable {keyEnv.Trim()} is not set.");
            }
        }

        return new FailureClassifierEndpoint(
            new Uri(endpoint.EndsWith('/') ? endpoint : endpoint + "/"),
            model!.Trim(),
            key,
            TimeSpan.FromSeconds(timeoutSeconds ?? 30));
    }

    /// <summary>Sets the classifier and its timeout on a runtime's options (one client shared by every tenant's runtime).</summary>
    public Action<LoreOptions> Configure()
    {
        var classifier = new ChatFailureClassifier(CreateChatClient());
        return options =>
        {
            options.FailureClassifier = classifier;
            options.FailureClassifierTimeout = Timeout;
        };
    }

    /// <summary>The OpenAI SDK's chat client for the endpoint, as an <see cref="IChatClient"/>. Endpoints without keys (a local model server) get a placeholder key, which the SDK requires.</summary>
    private IChatClient CreateChatClient()
        => new OpenAI.Chat.ChatClient(Model, new ApiKeyCredential(ApiKey ?? "no-key"), new OpenAIClientOptions { Endpoint = Endpoint, NetworkTimeout = Timeout })
            .AsIChatClient();
}
