using Lore.Server.Security;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Lore.Server.Api;

/// <summary>Registers and maps the REST API (episodes, steps, outcomes, retrieval, snapshots, review, audit, keys, health) and its OpenAPI document.</summary>
internal static class LoreApiEndpoints
{
    private const string SecuritySchemeName = "loreApiKey";

    public static void AddServices(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<ApiEpisodes>();
        services.AddOpenApi("v1", options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Lore";
                document.Info.Description =
                    "On-the-job learning for AI agents: record episodes, retrieve lessons for a task, and control what is learned " +
                    "(snapshots, staged rollout, review, audit). Every /api endpoint needs an API key " +
                    "('Authorization: Bearer lore_{id}_{secret}' or 'X-Api-Key'), bound to one tenant and a role: agent < reviewer < admin.";
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[SecuritySchemeName] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "A Lore API key, lore_{id}_{secret} (create one with 'lore keys create').",
                };
                return Task.CompletedTask;
            });

            // Each operation says which role it needs and that it needs the key.
            options.AddOperationTransformer((operation, context, _) =>
            {
                var role = context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>()
                    .Select(a => a.Policy switch { LorePolicies.Admin => "admin", LorePolicies.Reviewer => "reviewer", LorePolicies.Agent => "agent", _ => null })
                    .LastOrDefault(r => r is not null);
                if (role is not null)
                {
                    operation.Description = $"{operation.Description} Requires an API key with the {role} role (or higher); ids of other tenants answer 404.".Trim();
                    operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecuritySchemeName, context.Document)] = [] }];
                }

                return Task.CompletedTask;
            });
        });
    }

    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapOpenApi("/openapi/{documentName}.json").DisableRateLimiting();
        app.MapGet("/healthz", () => Results.Json(new HealthResponse("ok"), LoreJson.Options))
            .AllowAnonymous()
            .DisableRateLimiting()
            .WithSummary("Liveness: answers 200 while the server runs, and says nothing about what it holds.")
            .WithTags("health")
            .Produces<HealthResponse>();

        var api = app.MapGroup("/api").AddEndpointFilter(MapStoreErrorsAsync);
        EpisodeEndpoints.Map(api);
        KnowledgeEndpoints.Map(api);
        ControlEndpoints.Map(api);
        AuthoringEndpoints.Map(api);
    }

    /// <summary>Lore's records in the CLI's JSON shape (camelCase, enums as strings).</summary>
    public static IResult Json<T>(T value, int statusCode = StatusCodes.Status200OK)
        => Results.Json(value, LoreJson.Options, "application/json", statusCode);

    /// <summary>
    /// Store errors a handler did not expect become problems: a conflict (a concurrent change won) is 409, an unknown id
    /// is 404 without the store's message (which could name a file or another tenant).
    /// </summary>
    private static async ValueTask<object?> MapStoreErrorsAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (StoreConflictException e)
        {
            return ApiProblems.Conflict($"{e.Message} Read the current state and try again.");
        }
        catch (KeyNotFoundException)
        {
            return Results.Problem(detail: "Not found for this API key's tenant.", statusCode: StatusCodes.Status404NotFound, title: "Not found");
        }
    }
}

/// <summary>Reads query-string parameters, naming the parameter when its value is not acceptable.</summary>
internal static class ApiQuery
{
    public static bool TryInt(HttpContext context, string name, int defaultValue, int min, int max, out int value, out IResult? problem)
    {
        problem = null;
        value = defaultValue;
        var text = context.Request.Query[name].ToString();
        if (text.Length == 0)
        {
            return true;
        }

        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out value) || value < min || value > max)
        {
            problem = ApiProblems.Invalid(name, $"is '{text}'; it must be a whole number from {min} to {max}.");
            return false;
        }

        return true;
    }

    public static bool TryBool(HttpContext context, string name, out bool value, out IResult? problem)
    {
        problem = null;
        value = false;
        var text = context.Request.Query[name].ToString();
        if (text.Length == 0)
        {
            return true;
        }

        if (!bool.TryParse(text, out value))
        {
            problem = ApiProblems.Invalid(name, $"is '{text}'; it must be true or false.");
            return false;
        }

        return true;
    }

    public static string? String(HttpContext context, string name)
        => context.Request.Query[name].ToString() is { Length: > 0 } text ? text : null;
}
