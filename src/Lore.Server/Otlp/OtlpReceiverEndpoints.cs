using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server.Otlp;

/// <summary>Registers and maps the OTLP/HTTP trace receiver at /v1/traces.</summary>
internal static class OtlpReceiverEndpoints
{
    public static void AddServices(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
    }

    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
    }
}
