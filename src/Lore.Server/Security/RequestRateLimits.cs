using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server.Security;

/// <summary>
/// Per-key rate limits: one token bucket per API key id (anonymous and refused callers share one per client address),
/// holding <see cref="LoreServerOptions.RequestsPerMinutePerKey"/> tokens and refilled steadily, so one caller cannot
/// starve the rest. A refused request gets 429 problem+json with Retry-After.
/// </summary>
internal static class RequestRateLimits
{
    public static void AddServices(IServiceCollection services, LoreServerOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RequestsPerMinutePerKey, 1, nameof(options.RequestsPerMinutePerKey));
        var perMinute = options.RequestsPerMinutePerKey;

        // At 60 or more per minute the bucket refills every second; below that, one token every 60/N seconds.
        var (period, tokens) = perMinute >= 60
            ? (TimeSpan.FromSeconds(1), (int)Math.Ceiling(perMinute / 60.0))
            : (TimeSpan.FromMinutes(1) / perMinute, 1);

        services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => RateLimitPartition.GetTokenBucketLimiter(
                Partition(context),
                _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = perMinute,
                    TokensPerPeriod = tokens,
                    ReplenishmentPeriod = period,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : period;
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                var response = rejected.HttpContext.Response;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                var detail = $"This API key made more than {perMinute} requests per minute; retry after {seconds} s.";
                if (Proxy.OpenAiError.Applies(rejected.HttpContext.Request.Path))
                {
                    await Proxy.OpenAiError.WriteAsync(rejected.HttpContext, StatusCodes.Status429TooManyRequests, detail, null).ConfigureAwait(false);
                    return;
                }

                await Results.Problem(
                        detail: detail,
                        statusCode: StatusCodes.Status429TooManyRequests,
                        title: "Too many requests",
                        type: "https://www.rfc-editor.org/rfc/rfc6585#section-4")
                    .ExecuteAsync(rejected.HttpContext).ConfigureAwait(false);
            };
        });
    }

    public static void Use(WebApplication app) => app.UseRateLimiter();

    /// <summary>The key id of an authenticated caller; otherwise the client address (so guessing keys is limited too).</summary>
    private static string Partition(HttpContext context)
        => context.User.FindFirst(Caller.KeyIdClaim)?.Value is { } keyId
            ? "key:" + keyId
            : "addr:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
}
