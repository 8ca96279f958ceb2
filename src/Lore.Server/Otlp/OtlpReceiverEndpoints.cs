using System.IO.Compression;
using Lore.Server.Proxy;
using Lore.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server.Otlp;

/// <summary>
/// Registers and maps the OTLP/HTTP trace receiver at <c>POST /v1/traces</c>: an agent already instrumented with
/// OpenTelemetry feeds Lore by pointing its exporter here (<c>application/x-protobuf</c> or <c>application/json</c>,
/// optionally gzip-encoded) with its Lore key in <c>Authorization: Bearer</c>. Spans become episodes of the key's tenant.
/// </summary>
internal static class OtlpReceiverEndpoints
{
    public static void AddServices(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<OtlpTraceReceiver>();
    }

    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/traces", (HttpContext context, OtlpTraceReceiver receiver) => ReceiveAsync(context, receiver))
            .RequireAuthorization(LorePolicies.Agent);

        // Traces still being assembled are written when the server stops, before the store goes away.
        var lifetime = app.Lifetime;
        lifetime.ApplicationStarted.Register(() => lifetime.ApplicationStopping.Register(
            () => app.Services.GetRequiredService<OtlpTraceReceiver>().DisposeAsync().AsTask().GetAwaiter().GetResult()));
    }

    private static async Task ReceiveAsync(HttpContext context, OtlpTraceReceiver receiver)
    {
        var caller = Caller.From(context);
        var mediaType = context.Request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        var protobuf = mediaType is "application/x-protobuf" or "application/protobuf";
        if (!protobuf && mediaType != "application/json")
        {
            await RequestProblem.WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported content type",
                $"send OTLP traces as application/x-protobuf or application/json, not '{context.Request.ContentType}'.", "Content-Type").ConfigureAwait(false);
            return;
        }

        ReadOnlyMemory<byte> body;
        List<OtlpSpan> spans;
        try
        {
            body = await ReadBodyAsync(context, receiver.MaxDecodedBytes).ConfigureAwait(false);
            spans = protobuf ? OtlpProtobufReader.Read(body) : OtlpJsonReader.Read(body);
        }
        catch (OtlpFormatException e)
        {
            await RequestProblem.WriteAsync(context, StatusCodes.Status400BadRequest, "Invalid OTLP request", e.Message, e.Field).ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException e)
        {
            await RequestProblem.WriteAsync(context, e.StatusCode, "Request rejected", e.Message, "$").ConfigureAwait(false);
            return;
        }

        var result = await receiver.AcceptAsync(caller, spans, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status200OK;
        if (protobuf)
        {
            context.Response.ContentType = "application/x-protobuf";
            await context.Response.Body.WriteAsync(OtlpProtobufReader.WriteResponse(result.RejectedSpans, result.Message), context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(OtlpJsonReader.WriteResponse(result.RejectedSpans, result.Message), context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The body, gunzipped when <c>Content-Encoding: gzip</c>; a decoded body larger than the limit is refused (413).</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContext context, long maxDecoded)
    {
        var encoding = context.Request.Headers.ContentEncoding.ToString().Trim().ToLowerInvariant();
        Stream source = context.Request.Body;
        GZipStream? gzip = null;
        if (encoding == "gzip")
        {
            source = gzip = new GZipStream(context.Request.Body, CompressionMode.Decompress, leaveOpen: true);
        }
        else if (encoding.Length > 0 && encoding != "identity")
        {
            throw new OtlpFormatException("Content-Encoding", $"Content-Encoding '{encoding}' is not supported: send gzip or none.");
        }

        try
        {
            var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await source.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxDecoded)
                {
                    throw new BadHttpRequestException($"the decoded body is larger than {maxDecoded} bytes.", StatusCodes.Status413PayloadTooLarge);
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        }
        catch (InvalidDataException e)
        {
            throw new OtlpFormatException("Content-Encoding", $"the body is not valid gzip: {e.Message}", e);
        }
        finally
        {
            if (gzip is not null)
            {
                await gzip.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
