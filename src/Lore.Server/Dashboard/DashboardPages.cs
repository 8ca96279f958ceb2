using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>Pages every section shares: not found.</summary>
internal static class DashboardPages
{
    public static Task<IResult> NotFoundAsync(DashboardContext d, string section, string message)
        => DashboardLayout.PageAsync(d, section, "Not found", H.Of($"<p class=\"banner bad\" role=\"alert\" data-testid=\"not-found\">{message}</p>"), StatusCodes.Status404NotFound);
}
