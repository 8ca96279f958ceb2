using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Proxy;

/// <summary>
/// The one place a refusal is written in its protocol's vocabulary: on the OpenAI-compatible routes
/// (<c>/v1/chat/completions</c>, <c>/v1/models</c>) OpenAI's own error shape
/// <c>{"error":{"message","type","param","code"}}</c>, which the OpenAI SDKs read and show; everywhere else RFC 7807
/// problem+json naming the field at fault. Authentication, authorisation and rate limits answer through here too, so a
/// client sees one shape per protocol whatever refused it.
/// </summary>
internal static class RequestProblem
{
    public static Task WriteAsync(HttpContext context, int status, string title, string detail, string? field = null)
    {
        if (OpenAiError.Applies(context.Request.Path))
        {
            return OpenAiError.WriteAsync(context, status, detail, field);
        }

        var extensions = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (field is not null)
        {
            extensions["field"] = field;
        }

        return Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions).ExecuteAsync(context);
    }
}

/// <summary>OpenAI's error body, as the <c>openai</c> SDKs parse it into their error types.</summary>
internal static class OpenAiError
{
    /// <summary>True for the routes that speak OpenAI's protocol (not the OTLP receiver, which shares the <c>/v1</c> prefix).</summary>
    public static bool Applies(PathString path)
        => path.StartsWithSegments("/v1/chat", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/v1/models", StringComparison.OrdinalIgnoreCase);

    /// <summary>The <c>type</c> OpenAI gives errors of this status.</summary>
    public static string TypeOf(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "authentication_error",
        StatusCodes.Status403Forbidden => "permission_error",
        StatusCodes.Status404NotFound => "not_found_error",
        StatusCodes.Status409Conflict => "conflict_error",
        StatusCodes.Status429TooManyRequests => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    /// <summary>A machine-readable <c>code</c>, as OpenAI sets one for the errors clients branch on.</summary>
    public static string? CodeOf(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "invalid_api_key",
        StatusCodes.Status429TooManyRequests => "rate_limit_exceeded",
        StatusCodes.Status502BadGateway => "upstream_unreachable",
        StatusCodes.Status503ServiceUnavailable => "service_unavailable",
        StatusCodes.Status504GatewayTimeout => "upstream_timeout",
        StatusCodes.Status413PayloadTooLarge => "request_too_large",
        StatusCodes.Status409Conflict => "episode_conflict",
        _ => null,
    };

    public static async Task WriteAsync(HttpContext context, int status, string message, string? param)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + message.Length);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", message);
            json.WriteString("type", TypeOf(status));
            WriteNullable(json, "param", param);
            WriteNullable(json, "code", CodeOf(status));
            json.WriteEndObject();
            json.WriteEndObject();
        }

        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
