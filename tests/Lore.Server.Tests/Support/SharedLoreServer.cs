using Xunit;

namespace Lore.Server.Tests.Support;

/// <summary>
/// One <see cref="LoreTestServer"/> shared by a test class's cases (as an xunit class fixture), for checks that each
/// use a tenant of their own and so cannot see one another: saves a server start per case.
/// </summary>
public sealed class SharedLoreServer : IAsyncLifetime
{
    private LoreTestServer? _server;

    internal LoreTestServer Server => _server ?? throw new InvalidOperationException("The shared server has not started.");

    public async ValueTask InitializeAsync() => _server = await LoreTestServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
