using System.Globalization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Lore.Server.Hosting;

/// <summary>
/// Backpressure instead of 500s: a store that cannot take a request now (busy past its timeout, disk full) is
/// answered 503 with Retry-After and a problem+json detail that says why, so clients back off and retry and
/// operators read "disk full" rather than a stack trace. Nothing of such a request was written.
/// </summary>
internal sealed partial class StoreUnavailableHandler(ILogger<StoreUnavailableHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var unavailable = exception as StoreUnavailableException ?? exception.InnerException as StoreUnavailableException;
        if (unavailable is null || httpContext.Response.HasStarted)
        {
            return false;
        }

        LogUnavailable(logger, unavailable.Reason, httpContext.Request.Path, unavailable.Message);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(unavailable.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await httpContext.Response.WriteAsJsonAsync(
            new
            {
                type = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
                title = unavailable.Reason switch
                {
                    StoreUnavailableReason.Full => "Store full",
                    StoreUnavailableReason.Failing => "Store disk failing",
                    _ => "Store busy",
                },
                status = StatusCodes.Status503ServiceUnavailable,
                detail = unavailable.Message,
            },
            options: null,
            contentType: "application/problem+json",
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 503 ({Reason}) to {Path}: {Detail}")]
    private static partial void LogUnavailable(ILogger logger, StoreUnavailableReason reason, string path, string detail);
}
