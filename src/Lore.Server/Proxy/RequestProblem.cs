using Microsoft.AspNetCore.Http;

namespace Lore.Server.Proxy;

/// <summary>RFC 7807 problem responses naming the field at fault, as the proxy and the OTLP receiver send them.</summary>
internal static class RequestProblem
{
    public static Task WriteAsync(HttpContext context, int status, string title, string detail, string? field = null)
    {
        var extensions = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (field is not null)
        {
            extensions["field"] = field;
        }

        return Results.Problem(detail: detail, statusCode: status, title: title, extensions: extensions).ExecuteAsync(context);
    }
}
