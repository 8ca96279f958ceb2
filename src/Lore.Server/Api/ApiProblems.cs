using Microsoft.AspNetCore.Http;

namespace Lore.Server.Api;

/// <summary>
/// The RFC 7807 problem responses of the REST API. Every refusal names what was wrong; a 404 never says whether the id
/// exists for another tenant.
/// </summary>
internal static class ApiProblems
{
    /// <summary>400 with one message per bad field, keyed by the field's JSON path (for example <c>steps[2].tool</c>).</summary>
    public static IResult Invalid(IReadOnlyDictionary<string, string[]> errors)
    {
        var first = errors.First();
        return Results.ValidationProblem(
            errors,
            detail: $"'{first.Key}' {first.Value[0]}" + (errors.Count > 1 ? $" (and {errors.Count - 1} more problem(s), see errors)." : ""),
            title: "The request has invalid fields");
    }

    public static IResult Invalid(string field, string message) => Invalid(new Dictionary<string, string[]> { [field] = [message] });

    public static IResult NotFound(string what, string id)
        => Results.Problem(detail: $"No {what} '{id}' for this API key's tenant.", statusCode: StatusCodes.Status404NotFound, title: "Not found");

    /// <summary>503 with Retry-After: the call was not acknowledged because the store could not take it now; retrying is safe.</summary>
    public static IResult Unavailable(string detail, TimeSpan retryAfter)
        => new RetryLater(Results.Problem(detail: detail, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable"), retryAfter);

    public static IResult Conflict(string detail)
        => Results.Problem(detail: detail, statusCode: StatusCodes.Status409Conflict, title: "Conflict");

    public static IResult TooLarge(long limit)
        => Results.Problem(
            detail: $"The request body is larger than this server accepts ({limit:N0} bytes); nothing was written.",
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Request body too large");

    public static IResult UnsupportedMediaType(string? contentType)
        => Results.Problem(
            detail: $"The request body must be JSON ('Content-Type: application/json'), not '{contentType}'.",
            statusCode: StatusCodes.Status415UnsupportedMediaType,
            title: "Unsupported media type");

    /// <summary>A problem answer with a Retry-After header, so clients back off instead of treating the refusal as final.</summary>
    private sealed class RetryLater(IResult problem, TimeSpan retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return problem.ExecuteAsync(httpContext);
        }
    }
}
