using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Api;

/// <summary>A request body that validates itself, naming each bad field by its JSON path.</summary>
internal interface IApiRequest
{
    /// <summary>Adds one message per bad field; nothing added means the request is valid.</summary>
    void Validate(ApiValidation errors);
}

/// <summary>Collects validation messages by JSON path.</summary>
internal sealed class ApiValidation
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }

        list.Add(message);
    }

    /// <summary>Requires a non-blank string of at most <paramref name="maxLength"/> characters.</summary>
    public void Required(string field, string? value, int maxLength = 10_000)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, "is required.");
        }
        else
        {
            MaxLength(field, value, maxLength);
        }
    }

    public void MaxLength(string field, string? value, int maxLength)
    {
        if (value is not null && value.Length > maxLength)
        {
            Add(field, $"is {value.Length:N0} characters long; at most {maxLength:N0} are accepted.");
        }
    }

    /// <summary>An identifier: non-blank when present, no control characters, at most 200 characters.</summary>
    /// <summary>An episode id: the one grammar of <see cref="EpisodeIds"/>, so every route can address what was created.</summary>
    public void EpisodeId(string field, string? value)
    {
        if (value is not null && EpisodeIds.Problem(value) is { } problem)
        {
            Add(field, problem);
        }
    }

    public void Identifier(string field, string? value, bool required = false)
    {
        if (value is null)
        {
            if (required)
            {
                Add(field, "is required.");
            }

            return;
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, "must not be blank.");
        }
        else if (value.Length > 200)
        {
            Add(field, $"is {value.Length:N0} characters long; an id has at most 200.");
        }
        else if (value.Any(char.IsControl))
        {
            Add(field, "contains control characters.");
        }
    }

    public IReadOnlyDictionary<string, string[]> ToDictionary() => _errors.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
}

/// <summary>
/// Reads a JSON request body strictly: the size limit holds for chunked bodies too, syntax and type errors are reported
/// with the JSON path and position, unknown fields are refused, and the result is validated before any handler runs, so
/// a bad request never writes anything.
/// </summary>
internal static class ApiBody
{
    /// <summary>LoreJson's shape (camelCase, enums as strings), but refusing fields the request type does not have.</summary>
    public static JsonSerializerOptions RequestOptions { get; } = CreateRequestOptions();

    private static JsonSerializerOptions CreateRequestOptions()
    {
        var options = new JsonSerializerOptions(LoreJson.Options)
        {
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            AllowTrailingCommas = false,
            ReadCommentHandling = JsonCommentHandling.Disallow,
            MaxDepth = 32,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Reads and validates the body; <paramref name="optional"/> lets an empty body stand for a default request.</summary>
    public static async Task<Body<T>> ReadAsync<T>(HttpContext context, bool optional = false)
        where T : class, IApiRequest, new()
    {
        var request = context.Request;
        byte[] bytes;
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            bytes = buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var limit = context.RequestServices.GetService(typeof(LoreServerOptions)) is LoreServerOptions options ? options.MaxRequestBytes : 0;
            return new Body<T>(null, ApiProblems.TooLarge(limit));
        }

        if (bytes.Length == 0 || bytes.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return optional
                ? Validated(new T())
                : new Body<T>(null, ApiProblems.Invalid("$", "the request body is required: send a JSON object."));
        }

        if (request.ContentType is { } contentType && !IsJson(contentType))
        {
            return new Body<T>(null, ApiProblems.UnsupportedMediaType(contentType));
        }

        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(bytes, RequestOptions);
        }
        catch (JsonException e)
        {
            return new Body<T>(null, ApiProblems.Invalid(Field(e.Path), Describe(e)));
        }

        return value is null
            ? new Body<T>(null, ApiProblems.Invalid("$", "the request body is JSON null; send a JSON object."))
            : Validated(value);
    }

    private static Body<T> Validated<T>(T value)
        where T : class, IApiRequest
    {
        var validation = new ApiValidation();
        value.Validate(validation);
        return validation.IsValid ? new Body<T>(value, null) : new Body<T>(null, ApiProblems.Invalid(validation.ToDictionary()));
    }

    private static bool IsJson(string contentType)
    {
        var mediaType = contentType.Split(';')[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>"$.steps[0].score" becomes "steps[0].score"; the whole body stays "$".</summary>
    internal static string Field(string? path)
        => string.IsNullOrEmpty(path) || path == "$" ? "$" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    /// <summary>The serializer's message without its type names and path suffix, plus where in the text it happened.</summary>
    private static string Describe(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        if (message.Contains("could not be mapped to any .NET member", StringComparison.Ordinal))
        {
            message = "is not a field of this request.";
        }
        else if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            message = "has the wrong type for this field.";
        }
        else if (message.Contains("missing required properties", StringComparison.Ordinal))
        {
            message = message.Replace("JSON deserialization for type", "the object", StringComparison.Ordinal);
        }

        var where = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine ?? 0})" : "";
        return message.TrimEnd('.') + where + ".";
    }
}

/// <summary>A parsed, validated request body, or the problem response explaining why there is none.</summary>
internal sealed record Body<T>(T? Value, IResult? Problem)
    where T : class;
