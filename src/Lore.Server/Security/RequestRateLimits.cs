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
        var limits = new Limits(options.RequestsPerMinutePerKey);
        services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = limits.Limiter;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = (rejected, _) => limits.RejectAsync(rejected.HttpContext, rejected.Lease);
        });
    }

    public static void Use(IApplicationBuilder app) => app.UseRateLimiter();

    /// <summary>
    /// In an app Lore is hosted in: the same per-key buckets on Lore's routes only, through a limiter of Lore's own, so
    /// the app's <c>AddRateLimiter</c>/<c>UseRateLimiter</c> (if any) neither changes Lore's limits nor is changed by them.
    /// </summary>
    public static void UseOwnLimiter(IApplicationBuilder app, LoreServerOptions options)
    {
        var limits = new Limits(options.RequestsPerMinutePerKey);
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<DisableRateLimitingAttribute>() is not null)
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            using var lease = limits.Limiter.AttemptAcquire(context);
            if (!lease.IsAcquired)
            {
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                await limits.RejectAsync(context, lease).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        });
    }

    /// <summary>One token bucket per caller and the 429 a refused request gets.</summary>
    private sealed class Limits
    {
        private readonly int _perMinute;
        private readonly TimeSpan _period;

        public Limits(int perMinute)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(perMinute, 1, nameof(LoreServerOptions.RequestsPerMinutePerKey));
            _perMinute = perMinute;

            // At 60 or more per minute the bucket refills every second; below that, one token every 60/N seconds.
            var (period, tokens) = perMinute >= 60
                ? (TimeSpan.FromSeconds(1), (int)Math.Ceiling(perMinute / 60.0))
                : (TimeSpan.FromMinutes(1) / perMinute, 1);
            _period = period;
            Limiter = PartitionedRateLimiter.Create<HttpContext, string>(context => RateLimitPartition.GetTokenBucketLimiter(
                Partition(context),
                _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = perMinute,
                    TokensPerPeriod = tokens,
                    ReplenishmentPeriod = period,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
        }

        public PartitionedRateLimiter<HttpContext> Limiter { get; }

        public async ValueTask RejectAsync(HttpContext context, RateLimitLease lease)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : _period;
            var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
            var response = context.Response;
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            var detail = $"This API key made more than {_perMinute} requests per minute; retry after {seconds} s.";
            if (Proxy.OpenAiError.Applies(context.Request.Path))
            {
                await Proxy.OpenAiError.WriteAsync(context, StatusCodes.Status429TooManyRequests, detail, null).ConfigureAwait(false);
                return;
            }

            await Results.Problem(
                    detail: detail,
                    statusCode: StatusCodes.Status429TooManyRequests,
                    title: "Too many requests",
                    type: "https://www.rfc-editor.org/rfc/rfc6585#section-4")
                .ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>The key id of an authenticated caller; otherwise the client address (so guessing keys is limited too).</summary>
    private static string Partition(HttpContext context)
        => context.User is CallerPrincipal { Caller: var caller } ? caller.Partition
            : context.User.FindFirst(Caller.KeyIdClaim)?.Value is { } keyId
            ? "key:" + keyId
            : "addr:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
}
