using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server.Api;

/// <summary>Registers and maps the REST API (episodes, steps, outcomes, retrieval, snapshots, review, audit, keys, health) and its OpenAPI document.</summary>
internal static class LoreApiEndpoints
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
